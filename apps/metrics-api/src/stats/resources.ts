// The resource types the API answers for, their short names, and the Prometheus label that names each: the proxy's
// scrape carries the pod's namespace, pod and workload labels (set by the scrape config's relabelling from the
// linkerd.io/proxy-<kind> pod labels), and the client side's dst_* labels name the server's.
import { BadRequestError } from '../errors.ts';

export const RESOURCE_TYPES = ['deployment', 'statefulset', 'daemonset', 'job', 'pod', 'namespace', 'service', 'authority'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** What `all` expands to (as Linkerd's stat does: every workload kind, pods, services and authorities). */
export const ALL_TYPES: readonly ResourceType[] = ['deployment', 'statefulset', 'daemonset', 'job', 'pod', 'service', 'authority'];

const ALIASES: Readonly<Record<string, ResourceType | 'all'>> = {
  deploy: 'deployment', deployment: 'deployment', deployments: 'deployment',
  sts: 'statefulset', statefulset: 'statefulset', statefulsets: 'statefulset',
  ds: 'daemonset', daemonset: 'daemonset', daemonsets: 'daemonset',
  job: 'job', jobs: 'job',
  po: 'pod', pod: 'pod', pods: 'pod',
  ns: 'namespace', namespace: 'namespace', namespaces: 'namespace',
  svc: 'service', service: 'service', services: 'service',
  au: 'authority', authority: 'authority', authorities: 'authority',
  all: 'all',
};

/**
 * The label naming a resource of this type on the proxy's series. Kubernetes' Job is `k8s_job` because `job` is
 * Prometheus' own label (the scrape job).
 */
export const PROM_LABEL: Readonly<Record<ResourceType, string>> = {
  deployment: 'deployment',
  statefulset: 'statefulset',
  daemonset: 'daemonset',
  job: 'k8s_job',
  pod: 'pod',
  namespace: 'namespace',
  service: 'service',
  authority: 'authority',
};

/** The label naming the server of this type on a client's outbound series (authority is the same label there). */
export function dstLabel(type: ResourceType): string {
  if (type === 'authority') return 'authority';
  if (type === 'namespace') return 'dst_namespace';
  if (type === 'job') return 'dst_k8s_job';
  return `dst_${PROM_LABEL[type]}`;
}

export interface ResourceSelector {
  readonly type: ResourceType | 'all';
  readonly name?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const NAMES = Object.keys(ALIASES).filter((k) => k !== 'all').join(', ');

/** `deploy`, `deploy/web`, `all`: the request's `resource` parameter. */
export function parseResource(param: string, text: string): ResourceSelector {
  const [typeText = '', name, extra] = text.split('/');
  const type = ALIASES[typeText.toLowerCase()];
  if (!type) throw new BadRequestError(`invalid ${param} "${text}": unknown type "${typeText}" (one of ${NAMES}, all)`);
  if (extra !== undefined || name === '') throw new BadRequestError(`invalid ${param} "${text}": expected TYPE or TYPE/NAME`);
  if (name !== undefined && type === 'all') throw new BadRequestError(`invalid ${param} "${text}": "all" takes no name`);
  if (name !== undefined && type !== 'authority' && !DNS_LABEL.test(name)) throw new BadRequestError(`invalid ${param} "${text}": "${name}" is not a Kubernetes object name`);
  return name === undefined ? { type } : { type, name };
}

/** Names in Kubernetes and namespaces in requests: lower-case DNS labels, checked before they reach a query. */
export function parseNamespace(text: string): string {
  if (!DNS_LABEL.test(text) || text.length > 63) throw new BadRequestError(`invalid namespace ${JSON.stringify(text)}: not a Kubernetes namespace name`);
  return text;
}
