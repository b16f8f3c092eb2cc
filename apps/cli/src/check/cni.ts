// The CNI plugin's checks, as Linkerd's: with --pre, whether pods may run linkerd-init at all (Pod Security
// "baseline" and "restricted" refuse NET_ADMIN and NET_RAW) unless --cni-enabled says the plugin does its work;
// and the linkerd-cni-plugin category (with --pre --cni-enabled, or when the install's cniEnabled is set): the
// plugin's objects exist and its installer runs on every node.
import type { CheckContext } from './context.ts';
import { valueAt } from './context.ts';
import { fail, ok, warn, type Category } from './model.ts';

export const DEFAULT_CNI_NAMESPACE = 'trellis-cni';
const NAME = 'trellis-cni';
const INSTALL_HINT = 'trellis install-cni | kubectl apply -f - (or helm install trellis-cni helm/trellis-cni)';
const ENFORCE = 'pod-security.kubernetes.io/enforce';

export const preKubernetesCapability: Category<CheckContext> = {
  id: 'pre-kubernetes-capability',
  checks: [
    {
      description: 'pods may run linkerd-init with NET_ADMIN and NET_RAW',
      run: async (ctx) => {
        const namespaces = (await ctx.cluster.core.listNamespace()).items;
        const refusing = namespaces
          .filter((n) => ['baseline', 'restricted'].includes(n.metadata?.labels?.[ENFORCE] ?? ''))
          .map((n) => `${n.metadata?.name} (${ENFORCE}=${n.metadata?.labels?.[ENFORCE]})`);
        return refusing.length
          ? warn(`Pod Security refuses linkerd-init's NET_ADMIN and NET_RAW in: ${refusing.join(', ')}`, `mesh those namespaces with the CNI plugin: ${INSTALL_HINT}, then trellis check --pre --cni-enabled`)
          : ok;
      },
    },
  ],
};

const exists = (what: string, name: string, read: (ctx: CheckContext, ns: string) => Promise<unknown>) => ({
  description: `cni plugin ${what} exists`,
  run: async (ctx: CheckContext) => {
    const ns = ctx.options.cniNamespace ?? DEFAULT_CNI_NAMESPACE;
    const found = await ctx.cluster.maybe(() => read(ctx, ns));
    return found ? ok : fail(`no ${what} ${what.startsWith('Cluster') ? name : `${ns}/${name}`}`, INSTALL_HINT);
  },
});

export const cniPlugin: Category<CheckContext> = {
  id: 'linkerd-cni-plugin',
  when: (ctx) => ctx.options.cniEnabled === true || valueAt(ctx.values, 'cniEnabled') === true,
  checks: [
    exists('ConfigMap', `${NAME}-config`, (ctx, ns) => ctx.cluster.core.readNamespacedConfigMap({ name: `${NAME}-config`, namespace: ns })),
    exists('ClusterRole', NAME, (ctx) => ctx.cluster.rbac.readClusterRole({ name: NAME })),
    exists('ClusterRoleBinding', NAME, (ctx) => ctx.cluster.rbac.readClusterRoleBinding({ name: NAME })),
    exists('ServiceAccount', NAME, (ctx, ns) => ctx.cluster.core.readNamespacedServiceAccount({ name: NAME, namespace: ns })),
    exists('DaemonSet', NAME, (ctx, ns) => ctx.cluster.apps.readNamespacedDaemonSet({ name: NAME, namespace: ns })),
    {
      description: 'cni plugin pod is running on all nodes',
      retry: true,
      run: async (ctx) => {
        const ns = ctx.options.cniNamespace ?? DEFAULT_CNI_NAMESPACE;
        const ds = await ctx.cluster.maybe(() => ctx.cluster.apps.readNamespacedDaemonSet({ name: NAME, namespace: ns }));
        if (!ds) return fail(`no DaemonSet ${ns}/${NAME}`, INSTALL_HINT);
        const s = ds.status;
        if (!s || (s.observedGeneration ?? 0) < (ds.metadata?.generation ?? 1)) return fail(`DaemonSet ${ns}/${NAME} has not been rolled out yet`);
        if (s.desiredNumberScheduled === 0) return warn(`DaemonSet ${ns}/${NAME} runs on no node: the cluster has no schedulable Linux node`);
        return s.numberReady === s.desiredNumberScheduled && (s.updatedNumberScheduled ?? 0) === s.desiredNumberScheduled
          ? ok
          : fail(`${s.numberReady} of ${s.desiredNumberScheduled} nodes run a ready ${NAME} pod`, `kubectl -n ${ns} get pods -l k8s-app=${NAME} -o wide; kubectl -n ${ns} logs ds/${NAME}`);
      },
    },
  ],
};
