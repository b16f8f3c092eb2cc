// trellis-control-plane-proxy and (with --proxy) trellis-data-plane: the proxies themselves — ready, and of the
// release this CLI belongs to.
import type { V1Pod } from '@kubernetes/client-node';
import { notReadyReason, proxyStatus } from './cluster.ts';
import type { CheckContext } from './context.ts';
import { fail, ok, warn, type Category, type CheckOutcome } from './model.ts';

const PROXY_VERSION = 'linkerd.io/proxy-version';

function ready(pods: readonly V1Pod[], what: string, hint: string): CheckOutcome {
  const bad = pods.flatMap((p) => {
    const s = proxyStatus(p);
    if (s === 'ready') return [];
    return [`${p.metadata?.namespace}/${p.metadata?.name}: ${s === 'absent' ? 'no linkerd-proxy container' : `linkerd-proxy not ready (${notReadyReason(p) ?? 'starting'})`}`];
  });
  return bad.length ? fail(bad.join('\n'), hint) : pods.length ? ok : fail(`no ${what} pods found`, hint);
}

function versions(pods: readonly V1Pod[], cli: string, what: string): CheckOutcome {
  const off = pods.filter((p) => (p.metadata?.annotations?.[PROXY_VERSION] ?? '') !== cli);
  return off.length
    ? warn(off.map((p) => `${p.metadata?.namespace}/${p.metadata?.name} runs proxy ${p.metadata?.annotations?.[PROXY_VERSION] ?? '(unknown)'}, the cli is ${cli}`).join('\n'), `restart the ${what} pods to pick up the current proxy`)
    : ok;
}

export const controlPlaneProxy: Category<CheckContext> = {
  id: 'trellis-control-plane-proxy',
  checks: [
    {
      description: 'control plane proxies are healthy',
      retry: true,
      run: async (ctx) => ready(await ctx.cluster.pods(ctx.ns, 'linkerd.io/control-plane-component'), 'control plane', `kubectl -n ${ctx.ns} logs <pod> -c linkerd-proxy`),
    },
    {
      description: 'control plane proxies and cli versions match',
      run: async (ctx) => versions(await ctx.cluster.pods(ctx.ns, 'linkerd.io/control-plane-component'), ctx.options.cliVersion, 'control plane'),
    },
  ],
};

const dataPlanePods = async (ctx: CheckContext) =>
  (await ctx.cluster.pods(ctx.options.dataPlaneNamespace, `linkerd.io/control-plane-ns=${ctx.ns}`)).filter((p) => !p.metadata?.labels?.['linkerd.io/control-plane-component'] && !p.metadata?.deletionTimestamp);

export const trellisDataPlane: Category<CheckContext> = {
  id: 'trellis-data-plane',
  checks: [
    {
      description: 'data plane namespace exists',
      run: async (ctx) => {
        const ns = ctx.options.dataPlaneNamespace;
        if (!ns) return ok;
        return (await ctx.cluster.maybe(() => ctx.cluster.core.readNamespace({ name: ns }))) ? ok : fail(`namespace "${ns}" not found`);
      },
    },
    {
      description: 'data plane proxies are ready',
      retry: true,
      run: async (ctx) => ready(await dataPlanePods(ctx), 'meshed', `kubectl -n ${ctx.options.dataPlaneNamespace ?? '<namespace>'} logs <pod> -c linkerd-proxy`),
    },
    {
      description: 'data plane and cli versions match',
      run: async (ctx) => versions(await dataPlanePods(ctx), ctx.options.cliVersion, 'meshed'),
    },
  ],
};
