// A container's environment as a kubelet builds it: envFrom, then env in order with fieldRef, resourceFieldRef,
// ConfigMap and Secret keys, and $(VAR) references to variables defined before; command and args expand the same way.
import type { KObject } from './kube.ts';

export interface EnvSources {
  readonly pod: KObject;
  readonly podIP: string;
  readonly hostIP: string;
  /** Node allocatable, used when a container sets no limit (as the kubelet does). */
  readonly nodeAllocatable: { readonly cpu: string; readonly memory: string; readonly 'ephemeral-storage': string };
  readonly configMap: (name: string) => Promise<Record<string, string> | undefined>;
  readonly secret: (name: string) => Promise<Record<string, string> | undefined>;
}

export class EnvError extends Error {}

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes resource quantity ("500m", "128Mi", "1e3") as a number. */
export function parseQuantity(q: string): number {
  const m = /^([+-]?[0-9.]+)(?:[eE]([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(q.trim());
  if (!m) throw new EnvError(`invalid quantity ${JSON.stringify(q)}`);
  const base = Number(m[1]);
  if (m[2] !== undefined) return base * 10 ** Number(m[2]);
  return base * (SUFFIX[m[3] ?? ''] ?? 1);
}

/** Expands $(VAR) from `vars`; $$ escapes; an unknown reference stays as written. */
export function expandVars(s: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '$' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[i + 1];
    if (n === '$') {
      out += '$';
      i++;
    } else if (n === '(') {
      const close = s.indexOf(')', i + 2);
      if (close < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, close);
      out += vars.get(name) ?? `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

function fieldValue(path: string, src: EnvSources): string {
  const meta = src.pod['metadata'] ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return String(meta[keyed[1]!]?.[keyed[2]!] ?? '');
  switch (path) {
    case 'metadata.name':
      return meta['name'] ?? '';
    case 'metadata.namespace':
      return meta['namespace'] ?? '';
    case 'metadata.uid':
      return meta['uid'] ?? '';
    case 'metadata.labels':
    case 'metadata.annotations':
      return Object.entries((meta[path.slice(9)] ?? {}) as Record<string, string>)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .sort()
        .join('\n');
    case 'spec.nodeName':
      return src.pod['spec']?.['nodeName'] ?? '';
    case 'spec.serviceAccountName':
      return src.pod['spec']?.['serviceAccountName'] ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return src.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return src.hostIP;
  }
  throw new EnvError(`unsupported fieldRef ${JSON.stringify(path)}`);
}

/** resourceFieldRef: the container's limit or request divided by the divisor, rounded up (as the kubelet does). */
export function resourceValue(ref: KObject, containers: readonly KObject[], containerName: string, src: Pick<EnvSources, 'nodeAllocatable'>): string {
  const name = ref['containerName'] || containerName;
  const c = containers.find((x) => x['name'] === name);
  if (!c) throw new EnvError(`resourceFieldRef names container ${JSON.stringify(name)}, which the pod does not have`);
  const [kind, resource] = String(ref['resource'] ?? '').split('.') as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !resource || !(resource in src.nodeAllocatable)) {
    throw new EnvError(`unsupported resourceFieldRef resource ${JSON.stringify(ref['resource'])}`);
  }
  const res = src.nodeAllocatable as Record<string, string>;
  const set = c['resources']?.[kind]?.[resource] as string | undefined;
  const fallback = kind === 'limits' ? res[resource]! : (c['resources']?.['limits']?.[resource] as string | undefined) ?? '0';
  const value = parseQuantity(set ?? fallback);
  const divisor = parseQuantity(String(ref['divisor'] ?? '1'));
  if (divisor <= 0) throw new EnvError(`resourceFieldRef divisor must be positive, got ${JSON.stringify(ref['divisor'])}`);
  return String(Math.ceil(value / divisor - 1e-9));
}

export interface ResolvedEnv {
  readonly env: Map<string, string>;
  readonly argv: string[];
}

/** Builds the environment of `container` and expands its argv with it. */
export async function resolveEnv(container: KObject, allContainers: readonly KObject[], argv: readonly string[], base: ReadonlyMap<string, string>, src: EnvSources): Promise<ResolvedEnv> {
  const env = new Map(base);
  for (const from of (container['envFrom'] ?? []) as KObject[]) {
    const ref = from['configMapRef'] ?? from['secretRef'];
    const data = from['configMapRef'] ? await src.configMap(ref['name']) : await src.secret(ref['name']);
    if (!data) {
      if (ref['optional']) continue;
      throw new EnvError(`envFrom: ${from['configMapRef'] ? 'configmap' : 'secret'} ${JSON.stringify(ref['name'])} not found`);
    }
    for (const [k, v] of Object.entries(data)) env.set(`${from['prefix'] ?? ''}${k}`, v);
  }
  for (const e of (container['env'] ?? []) as KObject[]) {
    const name = String(e['name']);
    const vf = e['valueFrom'] as KObject | undefined;
    if (!vf) {
      env.set(name, expandVars(String(e['value'] ?? ''), env));
    } else if (vf['fieldRef']) {
      env.set(name, fieldValue(String(vf['fieldRef']['fieldPath']), src));
    } else if (vf['resourceFieldRef']) {
      env.set(name, resourceValue(vf['resourceFieldRef'], allContainers, String(container['name']), src));
    } else {
      const ref = vf['configMapKeyRef'] ?? vf['secretKeyRef'];
      const data = vf['configMapKeyRef'] ? await src.configMap(ref['name']) : await src.secret(ref['name']);
      const value = data?.[ref['key']];
      if (value === undefined) {
        if (ref['optional']) continue;
        throw new EnvError(`env ${name}: key ${JSON.stringify(ref['key'])} of ${vf['configMapKeyRef'] ? 'configmap' : 'secret'} ${JSON.stringify(ref['name'])} not found`);
      }
      env.set(name, value);
    }
  }
  return { env, argv: argv.map((a) => expandVars(a, env)) };
}
