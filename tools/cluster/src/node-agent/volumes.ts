// Pod volumes as directories on the host, bind-mounted into containers by the launcher: emptyDir (Memory medium on
// /dev/shm), hostPath, and files rendered from ConfigMaps, Secrets, the downward API and projected sources, including
// service-account tokens from the TokenRequest API. `refresh` re-renders them; tokens are renewed at 80% of their life.
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { KObject } from './kube.ts';
import { resourceValue } from './env.ts';

export interface VolumeApi {
  configMap(namespace: string, name: string): Promise<KObject | undefined>;
  secret(namespace: string, name: string): Promise<KObject | undefined>;
  /** TokenRequest for the pod's service account; resolves with the token. */
  token(pod: KObject, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

export class VolumeError extends Error {}

interface File {
  readonly data: Buffer;
  readonly mode: number;
}

const DEFAULT_MODE = 0o644;

function safePath(p: string): string {
  const n = normalize(p);
  if (n.startsWith('..') || n.startsWith('/')) throw new VolumeError(`volume item path ${JSON.stringify(p)} leaves the volume`);
  return n;
}

/** ConfigMap data and binaryData as bytes. */
export function configMapFiles(cm: KObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries((cm['data'] ?? {}) as Record<string, string>)) out.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries((cm['binaryData'] ?? {}) as Record<string, string>)) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

export function secretFiles(s: KObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries((s['data'] ?? {}) as Record<string, string>)) out.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries((s['stringData'] ?? {}) as Record<string, string>)) out.set(k, Buffer.from(v, 'utf8'));
  return out;
}

/** Selects items (or all keys) of a key/value source into files. */
export function keyFiles(kind: string, name: string, data: Map<string, Buffer>, items: KObject[] | undefined, defaultMode: number, optional: boolean): Map<string, File> {
  const files = new Map<string, File>();
  if (!items || items.length === 0) {
    for (const [k, v] of data) files.set(safePath(k), { data: v, mode: defaultMode });
    return files;
  }
  for (const it of items) {
    const v = data.get(String(it['key']));
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(`${kind} ${JSON.stringify(name)} has no key ${JSON.stringify(it['key'])}`);
    }
    files.set(safePath(String(it['path'])), { data: v, mode: it['mode'] ?? defaultMode });
  }
  return files;
}

function downwardFiles(items: KObject[], pod: KObject, defaultMode: number, allocatable: { cpu: string; memory: string; 'ephemeral-storage': string }): Map<string, File> {
  const files = new Map<string, File>();
  const meta = pod['metadata'] ?? {};
  for (const it of items) {
    let text: string;
    if (it['fieldRef']) {
      const path = String(it['fieldRef']['fieldPath']);
      const keyed = /^metadata\.(labels|annotations)(?:\['(.+)'\])?$/.exec(path);
      if (keyed) {
        const all = (meta[keyed[1]!] ?? {}) as Record<string, string>;
        text = keyed[2] !== undefined ? (all[keyed[2]] ?? '') : Object.keys(all).sort().map((k) => `${k}=${JSON.stringify(all[k])}`).join('\n');
      } else if (path === 'metadata.name' || path === 'metadata.namespace' || path === 'metadata.uid') {
        text = String(meta[path.slice(9)] ?? '');
      } else {
        throw new VolumeError(`downwardAPI fieldRef ${JSON.stringify(path)} is not supported in volumes`);
      }
    } else if (it['resourceFieldRef']) {
      const c = String(it['resourceFieldRef']['containerName'] ?? '');
      text = resourceValue(it['resourceFieldRef'], [...(pod['spec']?.['containers'] ?? []), ...(pod['spec']?.['initContainers'] ?? [])], c, { nodeAllocatable: allocatable });
    } else {
      throw new VolumeError(`downwardAPI item ${JSON.stringify(it['path'])} has neither fieldRef nor resourceFieldRef`);
    }
    files.set(safePath(String(it['path'])), { data: Buffer.from(text), mode: it['mode'] ?? defaultMode });
  }
  return files;
}

interface TokenCache {
  token: string;
  issuedAt: number;
}

export interface PodVolumesOptions {
  readonly pod: KObject;
  readonly root: string;
  readonly api: VolumeApi;
  readonly allocatable: { cpu: string; memory: string; 'ephemeral-storage': string };
  readonly now?: () => number;
}

/** The volumes of one pod. */
export class PodVolumes {
  readonly #opts: PodVolumesOptions;
  readonly #paths = new Map<string, string>();
  readonly #tokens = new Map<string, TokenCache>();
  #pod: KObject;

  constructor(opts: PodVolumesOptions) {
    this.#opts = opts;
    this.#pod = opts.pod;
  }

  /** Host directory of a volume, once prepared. */
  path(name: string): string | undefined {
    return this.#paths.get(name);
  }

  setPod(pod: KObject): void {
    this.#pod = pod;
  }

  #memDir(name: string): string {
    return join('/dev/shm', `trellis-${this.#pod['metadata']['uid']}`, name);
  }

  /** Creates or re-renders every volume. Throws VolumeError naming the first volume that cannot be made. */
  async refresh(): Promise<void> {
    const ns = String(this.#pod['metadata']['namespace']);
    for (const v of (this.#pod['spec']?.['volumes'] ?? []) as KObject[]) {
      const name = String(v['name']);
      try {
        if (v['emptyDir']) {
          const dir = v['emptyDir']['medium'] === 'Memory' ? this.#memDir(name) : join(this.#opts.root, name);
          if (!this.#paths.has(name)) {
            await mkdir(dir, { recursive: true });
            await chmod(dir, 0o777);
          }
          this.#paths.set(name, dir);
        } else if (v['hostPath']) {
          const p = String(v['hostPath']['path']);
          if (v['hostPath']['type'] === 'DirectoryOrCreate') await mkdir(p, { recursive: true });
          this.#paths.set(name, p);
        } else {
          const files = await this.#render(ns, v);
          if (files === undefined) continue;
          const dir = join(this.#opts.root, name);
          await writeFiles(dir, files);
          this.#paths.set(name, dir);
        }
      } catch (err) {
        if (err instanceof VolumeError) throw new VolumeError(`volume ${JSON.stringify(name)}: ${err.message}`);
        throw err;
      }
    }
  }

  async #render(ns: string, v: KObject): Promise<Map<string, File> | undefined> {
    if (v['configMap']) {
      const src = v['configMap'];
      const cm = await this.#opts.api.configMap(ns, src['name']);
      if (!cm) {
        if (src['optional']) return new Map();
        throw new VolumeError(`configmap ${JSON.stringify(src['name'])} not found`);
      }
      return keyFiles('configmap', src['name'], configMapFiles(cm), src['items'], src['defaultMode'] ?? DEFAULT_MODE, !!src['optional']);
    }
    if (v['secret']) {
      const src = v['secret'];
      const s = await this.#opts.api.secret(ns, src['secretName']);
      if (!s) {
        if (src['optional']) return new Map();
        throw new VolumeError(`secret ${JSON.stringify(src['secretName'])} not found`);
      }
      return keyFiles('secret', src['secretName'], secretFiles(s), src['items'], src['defaultMode'] ?? DEFAULT_MODE, !!src['optional']);
    }
    if (v['downwardAPI']) {
      return downwardFiles(v['downwardAPI']['items'] ?? [], this.#pod, v['downwardAPI']['defaultMode'] ?? DEFAULT_MODE, this.#opts.allocatable);
    }
    if (v['projected']) {
      const mode = v['projected']['defaultMode'] ?? DEFAULT_MODE;
      const all = new Map<string, File>();
      for (const s of (v['projected']['sources'] ?? []) as KObject[]) {
        let part: Map<string, File>;
        if (s['serviceAccountToken']) {
          const t = s['serviceAccountToken'];
          const token = await this.#token(t['audience'], Number(t['expirationSeconds'] ?? 3600));
          part = new Map([[safePath(String(t['path'])), { data: Buffer.from(token), mode }]]);
        } else if (s['configMap'] || s['secret']) {
          part = (await this.#render(ns, { [s['configMap'] ? 'configMap' : 'secret']: { ...(s['configMap'] ?? s['secret']), secretName: s['secret']?.['name'], defaultMode: mode } }))!;
        } else if (s['downwardAPI']) {
          part = downwardFiles(s['downwardAPI']['items'] ?? [], this.#pod, mode, this.#opts.allocatable);
        } else {
          throw new VolumeError(`unsupported projected source ${JSON.stringify(Object.keys(s))}`);
        }
        for (const [k, f] of part) all.set(k, f);
      }
      return all;
    }
    throw new VolumeError(`unsupported volume type ${JSON.stringify(Object.keys(v).filter((k) => k !== 'name'))}`);
  }

  async #token(audience: string | undefined, expirationSeconds: number): Promise<string> {
    const key = `${audience ?? ''}/${expirationSeconds}`;
    const now = (this.#opts.now ?? Date.now)();
    const cached = this.#tokens.get(key);
    // Renew at 80% of the requested lifetime, and at least daily (the kubelet's rule; the API server may extend the
    // real expiry of default tokens, which must not delay renewal).
    if (cached && now < cached.issuedAt + Math.min(0.8 * expirationSeconds * 1000, 24 * 3600_000)) return cached.token;
    const token = await this.#opts.api.token(this.#pod, audience, expirationSeconds);
    this.#tokens.set(key, { token, issuedAt: now });
    return token;
  }

  /** Removes the pod's volume directories (memory-backed ones too). */
  async remove(): Promise<void> {
    // A refresh still writing (a pod deleted while it starts) makes rmdir fail with ENOTEMPTY: rm retries then.
    await rm(this.#opts.root, { recursive: true, force: true, maxRetries: 5 });
    await rm(dirname(this.#memDir('x')), { recursive: true, force: true });
  }
}

/** Writes files into dir (each atomically, only when changed) and removes files that are no longer wanted. */
async function writeFiles(dir: string, files: Map<string, File>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [rel, f] of files) {
    const path = join(dir, rel);
    const current = await readFile(path).catch(() => undefined);
    if (current && current.equals(f.data)) {
      await chmod(path, f.mode);
      continue;
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    const tmp = `${path}.trellis-tmp`;
    await writeFile(tmp, f.data, { mode: f.mode });
    await chmod(tmp, f.mode);
    await rename(tmp, path);
  }
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = join(entry.parentPath, entry.name).slice(dir.length + 1);
    if (!files.has(rel)) await rm(join(dir, rel), { force: true });
  }
}
