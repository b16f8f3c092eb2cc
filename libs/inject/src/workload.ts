// Where the pod template lives in each kind of object, and small typed views of the parts injection reads.
import { isPlainObject } from './values.ts';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid?: string; apiVersion?: string; controller?: boolean }[];
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
}

export interface Probe {
  httpGet?: { port?: number | string; path?: string };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: VolumeMount[];
  restartPolicy?: string;
  securityContext?: { capabilities?: { add?: string[]; drop?: string[] } };
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: { name: string }[];
  hostNetwork?: boolean;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
}

/** Kinds that carry a pod template, as Linkerd names them in `linkerd.io/proxy-<kind>` labels (lower case). */
export const WORKLOAD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  deployment: ['spec', 'template'],
  statefulset: ['spec', 'template'],
  daemonset: ['spec', 'template'],
  replicaset: ['spec', 'template'],
  replicationcontroller: ['spec', 'template'],
  job: ['spec', 'template'],
  cronjob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export interface PodTemplateView {
  /** JSON-pointer prefix of the pod template inside the object ("" for a bare Pod). */
  readonly prefix: string;
  /** The template's metadata, or undefined when the template has none. */
  readonly meta: ObjectMeta | undefined;
  readonly spec: PodSpec;
}

export function kindOf(obj: Record<string, unknown>): string {
  return typeof obj['kind'] === 'string' ? obj['kind'].toLowerCase() : '';
}

export function metaOf(obj: Record<string, unknown>): ObjectMeta {
  return isPlainObject(obj['metadata']) ? (obj['metadata'] as ObjectMeta) : {};
}

/** Finds the pod template of a Pod or a workload; undefined when the object has none (or a malformed one). */
export function podTemplateOf(obj: Record<string, unknown>): PodTemplateView | undefined {
  const kind = kindOf(obj);
  if (kind === 'pod') {
    if (!isPlainObject(obj['spec'])) return undefined;
    return { prefix: '', meta: isPlainObject(obj['metadata']) ? (obj['metadata'] as ObjectMeta) : undefined, spec: obj['spec'] as PodSpec };
  }
  const path = WORKLOAD_TEMPLATE_PATHS[kind];
  if (!path) return undefined;
  let cur: unknown = obj;
  for (const seg of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[seg];
  }
  if (!isPlainObject(cur) || !isPlainObject(cur['spec'])) return undefined;
  return {
    prefix: '/' + path.join('/'),
    meta: isPlainObject(cur['metadata']) ? (cur['metadata'] as ObjectMeta) : undefined,
    spec: cur['spec'] as PodSpec,
  };
}

export function containersOf(spec: PodSpec): Container[] {
  return Array.isArray(spec.containers) ? spec.containers.filter(isPlainObject) as Container[] : [];
}

export function initContainersOf(spec: PodSpec): Container[] {
  return Array.isArray(spec.initContainers) ? spec.initContainers.filter(isPlainObject) as Container[] : [];
}

export function stringMap(v: unknown): Record<string, string> {
  if (!isPlainObject(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}
