// The Kubernetes side of per-route stats: which Services a resource's pods back (routes are per Service: a
// ServiceProfile is named for one, an HTTPRoute's parent is one), and the routes each Service's ServiceProfile
// declares (so a route with no traffic in the window still gets its row, as in Linkerd's `viz routes`).
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1LabelSelector } from '@kubernetes/client-node';
import { KubernetesUnavailableError, NotFoundError } from '../errors.ts';
import type { ResourceType } from '../stats/resources.ts';
import { matchesSelector } from './selector.ts';

export interface ProfileRoutes {
  /** The Service's name. */
  readonly service: string;
  /** The ServiceProfile's name: the Service's FQDN. */
  readonly fqdn: string;
  readonly routes: readonly string[];
}

export interface RouteSources {
  /** The Services in `namespace` whose selectors pick a pod of the object (a Service: itself). */
  servicesOf(type: ResourceType, namespace: string, name: string): Promise<string[]>;
  /** The ServiceProfiles of these Services (named `svc.ns.svc.<cluster domain>`), in the Services' namespace. */
  profileRoutes(namespace: string, services: readonly string[]): Promise<ProfileRoutes[]>;
}

export function kubeRouteSources(kc: KubeConfig): RouteSources {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);

  async function podLabels(type: ResourceType, namespace: string, name: string): Promise<Record<string, string>[]> {
    const what = `${type} ${namespace}/${name}`;
    if (type === 'pod') return [(await call(() => core.readNamespacedPod({ name, namespace }), what)).metadata?.labels ?? {}];
    let sel: V1LabelSelector | undefined;
    if (type === 'deployment') sel = (await call(() => apps.readNamespacedDeployment({ name, namespace }), what)).spec?.selector;
    else if (type === 'statefulset') sel = (await call(() => apps.readNamespacedStatefulSet({ name, namespace }), what)).spec?.selector;
    else if (type === 'daemonset') sel = (await call(() => apps.readNamespacedDaemonSet({ name, namespace }), what)).spec?.selector;
    else if (type === 'job') sel = (await call(() => batch.readNamespacedJob({ name, namespace }), what)).spec?.selector;
    else throw new Error(`routes of a ${type} are not resolved to pods`);
    if (!sel) return [];
    const pods = (await call(() => core.listNamespacedPod({ namespace }))).items;
    return pods.map((p) => p.metadata?.labels ?? {}).filter((l) => matchesSelector(sel, l));
  }

  return {
    async servicesOf(type, namespace, name) {
      if (type === 'service') {
        await call(() => core.readNamespacedService({ name, namespace }), `service ${namespace}/${name}`);
        return [name];
      }
      const [labels, services] = await Promise.all([podLabels(type, namespace, name), call(() => core.listNamespacedService({ namespace }))]);
      return services.items
        .filter((s) => {
          const sel = s.spec?.selector;
          // A Service without a selector is backed by endpoints someone else manages: it selects no pod of ours.
          return sel && Object.keys(sel).length > 0 && labels.some((l) => matchesSelector({ matchLabels: sel }, l));
        })
        .map((s) => s.metadata?.name ?? '')
        .sort();
    },

    async profileRoutes(namespace, services) {
      let list: { items?: { metadata?: { name?: string }; spec?: { routes?: { name?: unknown }[] } }[] };
      try {
        list = (await custom.listNamespacedCustomObject({ group: 'linkerd.io', version: 'v1alpha2', namespace, plural: 'serviceprofiles' })) as typeof list;
      } catch (err) {
        // The CRD is not installed: nobody declared a profile.
        if ((err as { code?: number }).code === 404) return [];
        throw new KubernetesUnavailableError(`listing ServiceProfiles in ${namespace}: ${(err as Error).message}`, err);
      }
      const out: ProfileRoutes[] = [];
      for (const service of services) {
        const prefix = `${service}.${namespace}.svc.`;
        for (const sp of list.items ?? []) {
          const fqdn = sp.metadata?.name ?? '';
          if (!fqdn.startsWith(prefix)) continue;
          const routes = (sp.spec?.routes ?? []).map((r) => r.name).filter((n): n is string => typeof n === 'string' && n !== '');
          out.push({ service, fqdn, routes });
        }
      }
      return out;
    },
  };
}

async function call<T>(fn: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { code?: number }).code === 404 && what) throw new NotFoundError(`${what} not found`);
    throw new KubernetesUnavailableError((err as Error).message, err);
  }
}
