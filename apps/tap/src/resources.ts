// The resources a tap can target, as the tap API's URLs name them (`/watch/namespaces/{ns}/{plural}/{name}/tap`),
// the RBAC resource checked for each, and the label the proxies' metadata (and `--to`) use for it.
import { TapApiError } from './errors.ts';

export interface TapTarget {
  readonly namespace: string;
  /** Plural resource name as in the URL and RBAC: namespaces, pods, deployments, ... */
  readonly resource: string;
  /** Empty for a namespace-wide tap. */
  readonly name: string;
}

/** Plural → the label meshed pods carry naming their owner of that kind (the injector's linkerd.io/proxy-<kind>). */
export const RESOURCES: Readonly<Record<string, { readonly label: string; readonly podLabel: string | undefined }>> = {
  namespaces: { label: 'namespace', podLabel: undefined },
  pods: { label: 'pod', podLabel: undefined },
  deployments: { label: 'deployment', podLabel: 'linkerd.io/proxy-deployment' },
  statefulsets: { label: 'statefulset', podLabel: 'linkerd.io/proxy-statefulset' },
  daemonsets: { label: 'daemonset', podLabel: 'linkerd.io/proxy-daemonset' },
  replicasets: { label: 'replicaset', podLabel: 'linkerd.io/proxy-replicaset' },
  jobs: { label: 'job', podLabel: 'linkerd.io/proxy-job' },
  cronjobs: { label: 'cronjob', podLabel: 'linkerd.io/proxy-cronjob' },
};

const SHORT: Readonly<Record<string, string>> = {
  ns: 'namespaces', namespace: 'namespaces',
  po: 'pods', pod: 'pods',
  deploy: 'deployments', deployment: 'deployments',
  sts: 'statefulsets', statefulset: 'statefulsets',
  ds: 'daemonsets', daemonset: 'daemonsets',
  rs: 'replicasets', replicaset: 'replicasets',
  job: 'jobs',
  cj: 'cronjobs', cronjob: 'cronjobs',
};

/** The plural of a resource type given as Linkerd's CLI accepts it (deploy, deployment, deployments). */
export function pluralOf(type: string): string {
  const t = type.toLowerCase();
  const plural = RESOURCES[t] ? t : SHORT[t];
  if (plural === undefined) throw new TapApiError(400, 'BadRequest', `unsupported resource type "${type}": expected one of ${Object.keys(RESOURCES).join(', ')}`);
  return plural;
}

/** Parses "deploy/web" (or "ns/emojivoto") with the namespace the resource lives in. */
export function parseTarget(text: string, namespace: string): TapTarget {
  const [type = '', name = '', extra] = text.split('/');
  if (extra !== undefined || type === '') throw new TapApiError(400, 'BadRequest', `invalid resource "${text}": expected TYPE/NAME`);
  const resource = pluralOf(type);
  if (resource === 'namespaces') return { namespace: name || namespace, resource, name: '' };
  return { namespace, resource, name };
}
