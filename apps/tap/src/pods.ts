// The meshed pods of a tap target (the injector labels them with linkerd.io/control-plane-ns and their owner as
// linkerd.io/proxy-<kind>), and the pod behind an IP, for the other side of each event.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { TapApiError } from './errors.ts';
import { RESOURCES, type TapTarget } from './resources.ts';

export interface MeshedPod {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
  /** What the events of this pod's side carry: pod, namespace and its owner (deployment=web, ...). */
  readonly labels: Readonly<Record<string, string>>;
}

const OWNER_LABELS = Object.values(RESOURCES).flatMap((r) => (r.podLabel ? [[r.podLabel, r.label] as const] : []));

export function podMeta(p: V1Pod): Readonly<Record<string, string>> {
  const labels = p.metadata?.labels ?? {};
  const out: Record<string, string> = { pod: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '' };
  for (const [podLabel, label] of OWNER_LABELS) if (labels[podLabel]) out[label] = labels[podLabel];
  if (p.spec?.serviceAccountName) out['serviceaccount'] = p.spec.serviceAccountName;
  return out;
}

export function isMeshedRunning(p: V1Pod): boolean {
  return p.metadata?.labels?.['linkerd.io/control-plane-ns'] !== undefined && !!p.status?.podIP && p.status.phase === 'Running' && !p.metadata?.deletionTimestamp;
}

export type PodResolver = (t: TapTarget) => Promise<MeshedPod[]>;

export function kubePods(kc: KubeConfig): { resolve: PodResolver; byIp: (ip: string) => Promise<Readonly<Record<string, string>> | undefined> } {
  const core = kc.makeApiClient(CoreV1Api);
  const resolve: PodResolver = async (t) => {
    let pods: V1Pod[];
    if (t.resource === 'pods') {
      pods = [await core.readNamespacedPod({ namespace: t.namespace, name: t.name }).catch(() => notFound(t))];
    } else if (t.resource === 'namespaces') {
      pods = (await core.listNamespacedPod({ namespace: t.namespace })).items;
    } else {
      const podLabel = RESOURCES[t.resource]?.podLabel as string;
      pods = (await core.listNamespacedPod({ namespace: t.namespace, labelSelector: `${podLabel}=${t.name}` })).items;
    }
    const meshed = pods.filter(isMeshedRunning).map((p) => ({ name: p.metadata?.name ?? '', namespace: t.namespace, ip: p.status?.podIP ?? '', labels: podMeta(p) }));
    if (meshed.length === 0) {
      const what = t.resource === 'namespaces' ? `namespace ${t.namespace}` : `${t.resource}/${t.name} in namespace ${t.namespace}`;
      throw new TapApiError(404, 'NotFound', `no meshed pods to tap for ${what}: ${pods.length === 0 ? 'it has no pods' : `none of its ${pods.length} pods is meshed and running`}`);
    }
    return meshed;
  };
  const cache = new Map<string, { at: number; meta: Readonly<Record<string, string>> | undefined }>();
  const byIp = async (ip: string) => {
    const hit = cache.get(ip);
    if (hit && Date.now() - hit.at < 30_000) return hit.meta;
    const items = (await core.listPodForAllNamespaces({ fieldSelector: `status.podIP=${ip}` }).catch(() => ({ items: [] as V1Pod[] }))).items.filter((p) => !p.spec?.hostNetwork);
    const meta = items[0] ? podMeta(items[0]) : undefined;
    cache.set(ip, { at: Date.now(), meta });
    return meta;
  };
  return { resolve, byIp };
}

function notFound(t: TapTarget): never {
  throw new TapApiError(404, 'NotFound', `pod ${t.name} not found in namespace ${t.namespace}`);
}
