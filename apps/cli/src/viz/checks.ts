// `trellis viz check`: Linkerd's viz checks for the Trellis viz extension: the namespace and RBAC are there, every
// component's pods are meshed, running and ready at this version, Prometheus is installed, the metrics API answers
// (which needs Prometheus), and with --proxy the meshed pods' metrics are in Prometheus.
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { fail, ok, warn, type Category, type CheckOutcome } from '../check/model.ts';
import { VIZ_NAMESPACE } from '../install/render.ts';
import { reachMetricsApi, MetricsApiError } from './metrics-api.ts';
import type { ApiStatRow } from './stat.ts';
import type { VizCheckContext } from './check-context.ts';
import { dataPlaneTapCheck, tapApiChecks } from './tap-checks.ts';
import { proxyContainer, proxyContainerStatus } from '@trellis/inject';

export type { VizCheckContext } from './check-context.ts';

const SELECTOR = 'linkerd.io/extension=viz';
const INSTALL = 'trellis viz install | kubectl apply -f -';

async function vizPods(ctx: VizCheckContext): Promise<V1Pod[]> {
  return (await ctx.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: ctx.vizNamespace, labelSelector: SELECTOR })).items.filter((p) => !p.metadata?.deletionTimestamp);
}

const proxyOf = (p: V1Pod) => proxyContainerStatus(p.status);
const name = (p: V1Pod) => p.metadata?.name ?? '';

async function stat(ctx: VizCheckContext, resource: string, namespace: string | undefined): Promise<ApiStatRow[] | string> {
  const reached = await reachMetricsApi(ctx.kc, ctx.metricsApiUrl, (api) => api.get<{ rows: ApiStatRow[] }>('/api/v1/stat', { resource, namespace, window: '1m' }));
  if ('absent' in reached) return reached.absent;
  await reached.api.close();
  return reached.result.rows;
}

export function vizCategories(proxy: boolean): Category<VizCheckContext>[] {
  const out: Category<VizCheckContext>[] = [
    {
      id: 'trellis-viz',
      checks: [
        {
          description: `${VIZ_NAMESPACE} Namespace exists`,
          fatal: true,
          run: async (ctx) => {
            try {
              await ctx.kc.makeApiClient(CoreV1Api).readNamespace({ name: ctx.vizNamespace });
              return ok;
            } catch (err) {
              if ((err as { code?: number }).code === 404) return fail(`namespace ${ctx.vizNamespace} does not exist`, INSTALL);
              throw err;
            }
          },
        },
        {
          description: `${VIZ_NAMESPACE} ClusterRoles exist`,
          run: async (ctx) => ((await ctx.kc.makeApiClient(RbacAuthorizationV1Api).listClusterRole({ labelSelector: SELECTOR })).items.length ? ok : fail(`no ClusterRole labelled ${SELECTOR}`, INSTALL)),
        },
        {
          description: `${VIZ_NAMESPACE} ClusterRoleBindings exist`,
          run: async (ctx) => ((await ctx.kc.makeApiClient(RbacAuthorizationV1Api).listClusterRoleBinding({ labelSelector: SELECTOR })).items.length ? ok : fail(`no ClusterRoleBinding labelled ${SELECTOR}`, INSTALL)),
        },
        ...tapApiChecks,
        {
          description: 'viz extension pods are injected',
          retry: true,
          run: async (ctx) => {
            const pods = await vizPods(ctx);
            if (pods.length === 0) return fail(`no pods in ${ctx.vizNamespace} yet`);
            const bare = pods.filter((p) => !proxyContainer(p.spec));
            return bare.length ? fail(`not meshed: ${bare.map(name).join(', ')}`, `is the proxy injector running? (trellis check); then kubectl -n ${ctx.vizNamespace} rollout restart deploy`) : ok;
          },
        },
        {
          description: 'viz extension pods are running',
          retry: true,
          run: async (ctx) => {
            const deployments = (await ctx.kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: ctx.vizNamespace, labelSelector: SELECTOR })).items;
            if (deployments.length === 0) return fail(`no Deployments in ${ctx.vizNamespace}`, INSTALL);
            const behind = deployments.filter((d) => (d.status?.readyReplicas ?? 0) < (d.spec?.replicas ?? 1));
            return behind.length ? fail(behind.map((d) => `deployment/${d.metadata?.name}: ${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready`).join('\n'), `kubectl -n ${ctx.vizNamespace} get pods`) : ok;
          },
        },
        {
          description: 'viz extension proxies are healthy',
          retry: true,
          run: async (ctx) => {
            const sick = (await vizPods(ctx)).filter((p) => !proxyOf(p)?.ready);
            return sick.length ? fail(`proxy not ready: ${sick.map(name).join(', ')}`, `kubectl -n ${ctx.vizNamespace} logs POD -c linkerd-proxy`) : ok;
          },
        },
        {
          description: 'viz extension proxies and cli versions match',
          run: async (ctx) => {
            const other = (await vizPods(ctx)).filter((p) => (p.metadata?.annotations?.['linkerd.io/proxy-version'] ?? '') !== ctx.cliVersion);
            return other.length ? warn(other.map((p) => `${name(p)} runs proxy ${p.metadata?.annotations?.['linkerd.io/proxy-version'] ?? 'unknown'}, the CLI is ${ctx.cliVersion}`).join('\n'), `kubectl -n ${ctx.vizNamespace} rollout restart deploy`) : ok;
          },
        },
        {
          description: 'prometheus is installed and configured correctly',
          run: async (ctx) => {
            const core = ctx.kc.makeApiClient(CoreV1Api);
            const deployments = (await ctx.kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: ctx.vizNamespace, labelSelector: `${SELECTOR},component=prometheus` })).items;
            if (deployments.length === 0) return warn(`no bundled Prometheus in ${ctx.vizNamespace}: the metrics API must be given one (prometheusUrl)`);
            try {
              await core.readNamespacedConfigMap({ name: 'prometheus-config', namespace: ctx.vizNamespace });
              return ok;
            } catch (err) {
              if ((err as { code?: number }).code === 404) return fail(`ConfigMap ${ctx.vizNamespace}/prometheus-config is missing`, INSTALL);
              throw err;
            }
          },
        },
        {
          description: 'the metrics API answers and reaches Prometheus',
          retry: true,
          run: async (ctx): Promise<CheckOutcome> => {
            try {
              const rows = await stat(ctx, 'ns', ctx.vizNamespace);
              return typeof rows === 'string' ? fail(rows, `kubectl -n ${ctx.vizNamespace} logs deploy/metrics-api metrics-api`) : ok;
            } catch (err) {
              if (err instanceof MetricsApiError) return fail(err.message, `kubectl -n ${ctx.vizNamespace} get pods -l component=prometheus`);
              throw err;
            }
          },
        },
      ],
    },
  ];
  if (proxy) {
    out.push({
      id: 'trellis-viz-data-plane',
      checks: [
        {
          description: 'data plane proxy metrics are present in Prometheus',
          retry: true,
          run: async (ctx) => {
            const rows = await stat(ctx, 'po', ctx.dataPlaneNamespace);
            if (typeof rows === 'string') return fail(rows);
            const meshed = rows.filter((r) => (r.pods?.meshed ?? 0) > 0 && r.resource.namespace !== ctx.vizNamespace);
            const silent = meshed.filter((r) => r.stats === null && r.tcp === null);
            if (meshed.length === 0) return warn(`no meshed pods${ctx.dataPlaneNamespace ? ` in ${ctx.dataPlaneNamespace}` : ''}`);
            // Idle pods have nothing to show; only when no meshed pod has any series is scraping itself in doubt.
            if (silent.length === meshed.length) return fail(`no traffic metrics for any of ${meshed.length} meshed pod(s) in the last minute: is Prometheus scraping them?`, `kubectl -n ${ctx.vizNamespace} logs deploy/prometheus prometheus`);
            return silent.length ? warn(`no traffic in the last minute (idle?): ${silent.map((r) => `${r.resource.namespace}/${r.resource.name}`).join(', ')}`) : ok;
          },
        },
        dataPlaneTapCheck,
      ],
    });
  }
  return out;
}
