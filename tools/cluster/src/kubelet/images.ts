// Images reach the nodes without a registry: buildah writes the images it built into OCI layouts (gzip at level 1,
// as this buildah compresses OCI layers even when told not to; once per image ID, oci-cache.ts), and each node's
// containerd imports one layout of the images it lacks as a tar stream. The OCI layout keeps each image's config
// digest, its ID. Each image is imported under the name a pod spec's reference normalizes to (`trellis/proxy:1.0` is
// `docker.io/trellis/proxy:1.0`), so manifests and the chart need no registry prefix.
import { spawn } from 'node:child_process';
import { CRI_NAMESPACE, CTR_BIN } from './containerd.ts';
import { withOciLayout } from './oci-cache.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The fully qualified name containerd's CRI plugin looks an image reference up by. */
export function normalizedName(ref: string): string {
  const [first, ...rest] = ref.split('/');
  const hasHost = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost');
  const named = hasHost ? ref : `docker.io/${rest.length === 0 ? `library/${ref}` : ref}`;
  const last = named.split('/').at(-1)!;
  return last.includes(':') || last.includes('@') ? named : `${named}:latest`;
}

export interface ImageToLoad {
  /** The image in buildah's local storage (name or ID). */
  readonly source: string;
  /** References pods use for it. */
  readonly names: readonly string[];
}

function pipe(producer: [string, string[]], consumer: [string, string[]]): Promise<void> {
  return new Promise((resolve, reject) => {
    const a = spawn(producer[0], producer[1], { stdio: ['ignore', 'pipe', 'pipe'] });
    const b = spawn(consumer[0], consumer[1], { stdio: ['pipe', 'pipe', 'pipe'] });
    let errA = '';
    let errB = '';
    a.stderr.on('data', (d: Buffer) => (errA += d.toString()));
    b.stderr.on('data', (d: Buffer) => (errB += d.toString()));
    b.stdout.resume();
    // ctr stops reading at the archive's end marker and may exit before tar's record padding is written to it: that
    // write's EPIPE is not a failure (both exit codes decide), and unhandled it would crash the caller.
    b.stdin.on('error', () => undefined);
    a.stdout.pipe(b.stdin);
    let left = 2;
    const codes: (number | null)[] = [];
    const done = (code: number | null) => {
      codes.push(code);
      if (--left > 0) return;
      if (codes.every((c) => c === 0)) resolve();
      else reject(new Error(`${producer[0]} | ${consumer.join(' ')} failed: ${(errA + errB).trim()}`));
    };
    a.on('close', done);
    b.on('close', done);
    a.on('error', reject);
    b.on('error', reject);
  });
}

/** Label on an image in a node's containerd: the buildah image ID it was imported from. */
export const IMAGE_ID_LABEL = 'io.trellis.image.id';

/** Each image name in a node's containerd with the buildah image ID it was imported from (when it has the label). */
export async function importedImageIds(socket: string): Promise<Map<string, string>> {
  const out = (await exec(CTR_BIN, ['--address', socket, '--namespace', CRI_NAMESPACE, 'images', 'ls'], { maxBuffer: 16 << 20 })).stdout;
  const ids = new Map<string, string>();
  for (const line of out.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const label = fields.at(-1)?.split(',').find((l) => l.startsWith(`${IMAGE_ID_LABEL}=`));
    if (fields[0] && label) ids.set(fields[0], label.slice(IMAGE_ID_LABEL.length + 1));
  }
  return ids;
}

export interface LoadReport {
  /** Names imported, summed over the nodes. */
  readonly imported: number;
  /** Names a node had already, imported from the same image ID. */
  readonly present: number;
}

/**
 * Imports buildah images into each node's containerd under each of their names; a name a node already has from the
 * same image ID is skipped. The OCI layout is written once, for the names some node lacks, and imported into each
 * node that lacks any.
 */
export async function loadImages(sockets: string | readonly string[], images: readonly ImageToLoad[]): Promise<LoadReport> {
  const nodes = typeof sockets === 'string' ? [sockets] : sockets;
  const wanted = await Promise.all(images.map(async (image) => ({ image, id: await buildahImageId(image.source) })));
  const missing = new Map<string, { source: string; name: string; id: string }[]>();
  let present = 0;
  for (const socket of nodes) {
    const have = await importedImageIds(socket);
    const lack = wanted.flatMap(({ image, id }) => image.names.map((name) => ({ source: image.source, name: normalizedName(name), id }))).filter((n) => have.get(n.name) !== n.id);
    present += wanted.reduce((s, w) => s + w.image.names.length, 0) - lack.length;
    if (lack.length > 0) missing.set(socket, lack);
  }
  if (missing.size === 0) return { imported: 0, present };
  const byName = new Map([...missing.values()].flat().map((n) => [n.name, n]));
  const toImport = [...byName.values()].map((n) => ({ source: n.source, id: n.id, names: [n.name] }));
  return withOciLayout(toImport, async (layout) => {
    // Nodes import at once: each unpacks the layers into its own snapshots, which leaves a core idle otherwise.
    await Promise.all([...missing].map(async ([socket, lack]) => {
      await pipe(['tar', ['-C', layout, '-cf', '-', '.']], [CTR_BIN, ['--address', socket, '--namespace', CRI_NAMESPACE, 'images', 'import', '-']]);
      for (const n of lack) await exec(CTR_BIN, ['--address', socket, '--namespace', CRI_NAMESPACE, 'images', 'label', n.name, `${IMAGE_ID_LABEL}=${n.id}`]);
    }));
    return { imported: [...missing.values()].reduce((s, lack) => s + lack.length, 0), present };
  });
}

/** The ID (config digest) of an image in buildah's storage: what the kubelet reports as a container's imageID. */
export async function buildahImageId(ref: string): Promise<string> {
  const out = await exec('buildah', ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref]);
  return `sha256:${out.stdout.trim().replace(/^sha256:/, '')}`;
}
