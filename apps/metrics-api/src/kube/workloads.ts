// The Kubernetes side of a stat: which objects of a type exist (so a workload with no traffic still gets its row) and
// how many of their pods run, are meshed (carry linkerd.io/control-plane-ns of our control plane, as the injector
// sets) and failed. Also a pod's mesh identity, for edges: what its proxy's LINKERD2_PROXY_IDENTITY_LOCAL_NAME says.
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig, type V1LabelSelector, type V1Pod } from '@kubernetes/client-node';
import { BadRequestError, KubernetesUnavailableError, NotFoundError } from '../errors.ts';
import type { ResourceType } from '../stats/resources.ts';
import { matchesSelector } from './selector.ts';

export interface PodCounts {
  readonly running: number;
  readonly meshed: number;
  readonly failed: number;
}

export interface KubeObject {
  readonly namespace: string;
  readonly name: string;
  /** Undefined for objects that have no pods of their own (services). */
  readonly pods?: PodCounts;
}

export interface ObjectQuery {
  readonly type: Exclude<ResourceType, 'authority'>;
  readonly name?: string;
  /** Undefined: every namespace. */
  readonly namespace?: string;
  readonly labelSelector?: string;
}

export interface Workloads {
  list(q: ObjectQuery): Promise<KubeObject[]>;
  /** The identity a pod's proxy presents, or undefined when the pod is gone or not meshed. */
  podIdentity(namespace: string, pod: string): Promise<string | undefined>;
}

interface Meta {
  metadata?: { name?: string; namespace?: string };
  /** A workload's spec.selector is read from here; other kinds' specs are not looked at. */
  spec?: object;
}

const PROXY_CONTAINER = 'linkerd-proxy';

export function kubeWorkloads(kc: KubeConfig, controlPlaneNamespace: string): Workloads {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);

  const listPods = (namespace: string | undefined, labelSelector?: string) =>
    call(() => (namespace ? core.listNamespacedPod({ namespace, labelSelector }) : core.listPodForAllNamespaces({ labelSelector })));

  const counts = (pods: readonly V1Pod[]): PodCounts => {
    let running = 0;
    let meshed = 0;
    let failed = 0;
    for (const p of pods) {
      if (p.metadata?.deletionTimestamp || p.status?.phase === 'Succeeded') continue;
      if (p.status?.phase === 'Failed') {
        failed++;
        continue;
      }
      running++;
      if (p.metadata?.labels?.['linkerd.io/control-plane-ns'] === controlPlaneNamespace) meshed++;
    }
    return { running, meshed, failed };
  };

  async function objects(q: ObjectQuery): Promise<Meta[]> {
    const { name, namespace, labelSelector } = q;
    const one = async (read: () => Promise<Meta>) => {
      if (!namespace) throw new BadRequestError(`a ${q.type} named "${name}" needs a namespace`);
      return [await call(read, `${q.type} ${namespace}/${name}`)];
    };
    switch (q.type) {
      case 'deployment':
        if (name) return one(() => apps.readNamespacedDeployment({ name, namespace: namespace as string }));
        return (await call(() => (namespace ? apps.listNamespacedDeployment({ namespace, labelSelector }) : apps.listDeploymentForAllNamespaces({ labelSelector })))).items;
      case 'statefulset':
        if (name) return one(() => apps.readNamespacedStatefulSet({ name, namespace: namespace as string }));
        return (await call(() => (namespace ? apps.listNamespacedStatefulSet({ namespace, labelSelector }) : apps.listStatefulSetForAllNamespaces({ labelSelector })))).items;
      case 'daemonset':
        if (name) return one(() => apps.readNamespacedDaemonSet({ name, namespace: namespace as string }));
        return (await call(() => (namespace ? apps.listNamespacedDaemonSet({ namespace, labelSelector }) : apps.listDaemonSetForAllNamespaces({ labelSelector })))).items;
      case 'job':
        if (name) return one(() => batch.readNamespacedJob({ name, namespace: namespace as string }));
        return (await call(() => (namespace ? batch.listNamespacedJob({ namespace, labelSelector }) : batch.listJobForAllNamespaces({ labelSelector })))).items;
      case 'service':
        if (name) return one(() => core.readNamespacedService({ name, namespace: namespace as string }));
        return (await call(() => (namespace ? core.listNamespacedService({ namespace, labelSelector }) : core.listServiceForAllNamespaces({ labelSelector })))).items;
      case 'pod':
        if (name) return one(() => core.readNamespacedPod({ name, namespace: namespace as string }));
        return (await listPods(namespace, labelSelector)).items;
      case 'namespace': {
        const ns = name ?? namespace;
        if (ns) return [await call(() => core.readNamespace({ name: ns }), `namespace ${ns}`)];
        return (await call(() => core.listNamespace({ labelSelector }))).items;
      }
    }
  }

  return {
    async list(q) {
      const found = await objects(q);
      if (q.type === 'service') return found.map((o) => ({ namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' }));
      if (q.type === 'pod') return (found as V1Pod[]).map((p) => ({ namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', pods: counts([p]) }));
      // One pod listing for all the objects: per namespace asked, or the whole cluster.
      const pods = (await listPods(q.type === 'namespace' ? (q.name ?? q.namespace) : q.namespace)).items;
      if (q.type === 'namespace') {
        return found.map((o) => {
          const name = o.metadata?.name ?? '';
          return { namespace: name, name, pods: counts(pods.filter((p) => p.metadata?.namespace === name)) };
        });
      }
      return found.map((o) => {
        const namespace = o.metadata?.namespace ?? '';
        const sel = (o.spec as { selector?: V1LabelSelector } | undefined)?.selector;
        // A workload without a selector selects nothing (Kubernetes requires one; be safe rather than count all).
        const mine = sel ? pods.filter((p) => p.metadata?.namespace === namespace && matchesSelector(sel, p.metadata?.labels ?? {})) : [];
        return { namespace, name: o.metadata?.name ?? '', pods: counts(mine) };
      });
    },

    async podIdentity(namespace, pod) {
      let p: V1Pod;
      try {
        p = await core.readNamespacedPod({ name: pod, namespace });
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw new KubernetesUnavailableError(`reading pod ${namespace}/${pod}: ${(err as Error).message}`, err);
      }
      const proxy = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].find((c) => c.name === PROXY_CONTAINER);
      const local = proxy?.env?.find((e) => e.name === 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME')?.value;
      if (!local) return undefined;
      // The injector writes the name with the pod's service account and namespace as env references.
      return local.replaceAll('$(_pod_sa)', p.spec?.serviceAccountName ?? 'default').replaceAll('$(_pod_ns)', namespace);
    },
  };
}

/** Runs an API call, mapping the library's errors: 404 names the object, 400 (a bad label selector) the input. */
async function call<T>(fn: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = statusMessage(err);
    if (code === 404 && what) throw new NotFoundError(`${what} not found`);
    if (code === 400) throw new BadRequestError(message);
    throw new KubernetesUnavailableError(message, err);
  }
}

/** The API server's Status message when there is one, else the library's. */
function statusMessage(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e.code === 'number' && e.body !== undefined) {
    try {
      const s = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: unknown };
      if (typeof s.message === 'string') return `${s.message} (HTTP ${e.code})`;
    } catch {
      // not a Status object
    }
    return `HTTP ${e.code}`;
  }
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ? `${e.message ?? 'request failed'} (${cause.code})` : (e.message ?? String(err));
}
