// The reverse of injection, for `trellis uninject`: removes what the injector adds and the inject annotation.
import { CREATED_BY, INJECT, LABEL_CONTROL_PLANE_NS, LABEL_WORKLOAD_NS, PROXY_VERSION, TRUST_ROOT_SHA256 } from './annotations.ts';
import { DEBUG_CONTAINER, INIT_CONTAINER, PROXY_CONTAINER, VALIDATOR_CONTAINER, VOLUME_END_ENTITY, VOLUME_TOKEN } from './containers.ts';
import { isPlainObject } from './values.ts';
import { kindOf, podTemplateOf } from './workload.ts';

const SIDECARS = new Set([PROXY_CONTAINER, INIT_CONTAINER, VALIDATOR_CONTAINER, DEBUG_CONTAINER]);
const VOLUMES = new Set(['linkerd-proxy-init-xtables-lock', VOLUME_END_ENTITY, VOLUME_TOKEN, 'linkerd-podinfo']);
const ANNOTATIONS = [INJECT, CREATED_BY, PROXY_VERSION, TRUST_ROOT_SHA256];
const isInjectedLabel = (k: string) => k === LABEL_CONTROL_PLANE_NS || k === LABEL_WORKLOAD_NS || k.startsWith('linkerd.io/proxy-');

export interface UninjectResult {
  readonly object: unknown;
  readonly changed: boolean;
  /** False when the object has no pod template and is not a Namespace. */
  readonly supported: boolean;
}

/** Returns a copy of the object without the proxy, proxy-init and their volumes, annotations and labels. */
export function uninject(object: unknown): UninjectResult {
  if (!isPlainObject(object)) return { object, changed: false, supported: false };
  const copy = structuredClone(object);
  if (kindOf(copy) === 'namespace') {
    const meta = isPlainObject(copy['metadata']) ? copy['metadata'] : {};
    return { object: copy, changed: removeKeys(meta, 'annotations', (k) => k === INJECT), supported: true };
  }
  const template = podTemplateOf(copy);
  if (!template) return { object: copy, changed: false, supported: false };
  let changed = false;
  const spec = template.spec as Record<string, unknown>;
  for (const key of ['containers', 'initContainers', 'volumes'] as const) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    const drop = key === 'volumes' ? VOLUMES : SIDECARS;
    const kept = list.filter((item) => !(isPlainObject(item) && drop.has(String(item['name']))));
    if (kept.length !== list.length) {
      changed = true;
      // An init container or volume list that only held ours goes away entirely, as it was before injection.
      if (kept.length === 0 && key !== 'containers') delete spec[key];
      else spec[key] = kept;
    }
  }
  if (template.meta) {
    const meta = template.meta as Record<string, unknown>;
    if (removeKeys(meta, 'annotations', (k) => ANNOTATIONS.includes(k))) changed = true;
    if (removeKeys(meta, 'labels', isInjectedLabel)) changed = true;
  }
  return { object: copy, changed, supported: true };
}

function removeKeys(meta: Record<string, unknown>, field: 'annotations' | 'labels', match: (k: string) => boolean): boolean {
  const map = meta[field];
  if (!isPlainObject(map)) return false;
  const keys = Object.keys(map).filter(match);
  for (const k of keys) delete map[k];
  return keys.length > 0;
}
