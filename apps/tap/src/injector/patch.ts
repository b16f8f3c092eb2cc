// What the tap injector changes in a pod, as Linkerd's viz does: the linkerd-proxy container (a native sidecar in
// initContainers, or a plain container) gets LINKERD2_PROXY_TAP_SVC_NAME, the identity the proxy lets open taps
// on its control port, and the pod is annotated viz.linkerd.io/tap-enabled. Pods without a proxy, pods whose proxy
// already has the variable and pods (or namespaces) annotated viz.linkerd.io/disable-tap are left alone.

export const TAP_SVC_NAME_ENV = 'LINKERD2_PROXY_TAP_SVC_NAME';
export const TAP_ENABLED_ANNOTATION = 'viz.linkerd.io/tap-enabled';
export const TAP_DISABLED_ANNOTATION = 'viz.linkerd.io/disable-tap';
export const PROXY_CONTAINER = 'linkerd-proxy';

export type PatchOp = { op: 'add'; path: string; value: unknown };

export type SkipReason = 'no_proxy' | 'already_set' | 'disabled';

export type TapPatch = { readonly ops: PatchOp[]; readonly skipped?: undefined } | { readonly ops: readonly []; readonly skipped: SkipReason };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** JSON Pointer escaping of one path segment (RFC 6901). */
const segment = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');

/** Whether an annotation value is a true boolean, as Go's strconv.ParseBool reads it (Linkerd's check). */
export function annotationTrue(v: unknown): boolean {
  return typeof v === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

/**
 * The identity value for a pod's proxy. `template` may hold `$(_l5d_ns)` and `$(_l5d_trustdomain)` (Linkerd's
 * form): they are replaced with the proxy container's own values when it holds them literally, so the stored pod
 * names the identity plainly; otherwise they stay for the kubelet to expand from the container's environment.
 */
export function tapServiceName(template: string, env: readonly unknown[]): string {
  const literal = (name: string) => {
    const e = env.find((x) => isObj(x) && x['name'] === name);
    return isObj(e) && typeof e['value'] === 'string' && e['value'] !== '' && !e['value'].includes('$(') ? e['value'] : undefined;
  };
  let out = template;
  for (const name of ['_l5d_ns', '_l5d_trustdomain']) {
    const v = literal(name);
    if (v !== undefined) out = out.replaceAll(`$(${name})`, v);
  }
  return out;
}

/** The JSON patch for a pod object as the API server sends it, or why there is none. */
export function tapPatch(pod: unknown, opts: { readonly tapServiceName: string; readonly namespaceAnnotations: Readonly<Record<string, string>> }): TapPatch {
  const spec = isObj(pod) && isObj(pod['spec']) ? pod['spec'] : {};
  const meta = isObj(pod) && isObj(pod['metadata']) ? pod['metadata'] : {};
  let found: { list: 'initContainers' | 'containers'; index: number; container: Obj } | undefined;
  for (const list of ['initContainers', 'containers'] as const) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    const index = containers.findIndex((c) => isObj(c) && c['name'] === PROXY_CONTAINER);
    if (index >= 0) {
      found = { list, index, container: containers[index] as Obj };
      break;
    }
  }
  if (!found) return { ops: [], skipped: 'no_proxy' };
  const annotations = isObj(meta['annotations']) ? meta['annotations'] : undefined;
  if (annotationTrue(annotations?.[TAP_DISABLED_ANNOTATION]) || annotationTrue(opts.namespaceAnnotations[TAP_DISABLED_ANNOTATION])) return { ops: [], skipped: 'disabled' };
  const env = Array.isArray(found.container['env']) ? (found.container['env'] as unknown[]) : undefined;
  if (env?.some((e) => isObj(e) && e['name'] === TAP_SVC_NAME_ENV)) return { ops: [], skipped: 'already_set' };

  const base = `/spec/${found.list}/${found.index}`;
  const variable = { name: TAP_SVC_NAME_ENV, value: tapServiceName(opts.tapServiceName, env ?? []) };
  const ops: PatchOp[] = [];
  if (annotations === undefined) ops.push({ op: 'add', path: '/metadata/annotations', value: { [TAP_ENABLED_ANNOTATION]: 'true' } });
  else ops.push({ op: 'add', path: `/metadata/annotations/${segment(TAP_ENABLED_ANNOTATION)}`, value: 'true' });
  // Appended last: an expression in the value can only name variables defined before it.
  if (env === undefined) ops.push({ op: 'add', path: `${base}/env`, value: [variable] });
  else ops.push({ op: 'add', path: `${base}/env/-`, value: variable });
  return { ops };
}
