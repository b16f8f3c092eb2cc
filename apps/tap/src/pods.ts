// The meshed pods of a tap target (the injector labels them with linkerd.io/control-plane-ns and their owner as
// linkerd.io/proxy-<kind>), and the pod behind an IP, for the other side of each event. A meshed pod is tappable
// only when its proxy was given the tap identity (LINKERD2_PROXY_TAP_SVC_NAME, which the tap injector adds when
// the pod is created): any other proxy serves no taps, so its pods are named in the answer instead of tapped.
import { CoreV1Api, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { TapApiError } from './errors.ts';
import { annotationTrue, PROXY_CONTAINER, TAP_DISABLED_ANNOTATION, TAP_SVC_NAME_ENV } from './injector/patch.ts';
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

/** Whether the pod's proxy serves taps: it has the tap identity in its environment. */
export function hasTapIdentity(p: V1Pod): boolean {
  const proxy = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].find((c: V1Container) => c.name === PROXY_CONTAINER);
  return proxy?.env?.some((e) => e.name === TAP_SVC_NAME_ENV) === true;
}

/** The 404 for a target whose meshed pods all lack the tap identity: which pods, why, and what to do. */
export function untappable(what: string, pods: readonly V1Pod[]): TapApiError {
  const name = (p: V1Pod) => p.metadata?.name ?? '';
  const disabled = pods.filter((p) => annotationTrue(p.metadata?.annotations?.[TAP_DISABLED_ANNOTATION]));
  const notEnabled = pods.filter((p) => !disabled.includes(p));
  const parts: string[] = [];
  if (notEnabled.length > 0) {
    parts.push(
      `${count(notEnabled.length)} with tap not enabled (${notEnabled.map(name).join(', ')}): their proxies were started without ${TAP_SVC_NAME_ENV}, so they serve no taps; ` +
        'restart them (kubectl rollout restart) so that the viz extension\'s tap injector gives the new pods the tap identity',
    );
  }
  if (disabled.length > 0) parts.push(`${count(disabled.length)} with tap disabled by the ${TAP_DISABLED_ANNOTATION} annotation (${disabled.map(name).join(', ')}): remove it and restart them to tap them`);
  return new TapApiError(404, 'NotFound', `no pods to tap for ${what}: ${parts.join('; ')}`);
}

const count = (n: number) => (n === 1 ? '1 meshed pod found' : `${n} meshed pods found`);

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
    const what = t.resource === 'namespaces' ? `namespace ${t.namespace}` : `${t.resource}/${t.name} in namespace ${t.namespace}`;
    const meshed = pods.filter(isMeshedRunning);
    if (meshed.length === 0) {
      throw new TapApiError(404, 'NotFound', `no meshed pods to tap for ${what}: ${pods.length === 0 ? 'it has no pods' : `none of its ${pods.length} pods is meshed and running`}`);
    }
    const tappable = meshed.filter(hasTapIdentity);
    if (tappable.length === 0) throw untappable(what, meshed);
    return tappable.map((p) => ({ name: p.metadata?.name ?? '', namespace: t.namespace, ip: p.status?.podIP ?? '', labels: podMeta(p) }));
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
