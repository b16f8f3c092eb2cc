// A namespace: its workloads with meshed pods and golden metrics (refreshed live), the graph of who calls whom,
// and its pods. The deployments come first and alone (the cheapest question to the metrics API, and what most
// namespaces hold); the other kinds, the pods, the edges and the graph library are asked for once they are shown.
import { html } from 'htm/preact';
import { useLayoutEffect } from 'preact/hooks';
import type { StatAnswer, StatRow } from '../../api-types.ts';
import { getJson, usePoll } from '../api.ts';
import { ErrorBanner, Fresh, Loading } from '../components/common.ts';
import { buildGraph } from '../components/graph-model.ts';
import { StatTable } from '../components/stat-table.ts';
import { WORKLOAD_TYPES } from '../format.ts';
import { grafanaLink } from '../grafana.ts';
import { useModule } from '../lazy.ts';
import { href } from '../route.ts';
import { loadTopology } from '../topology-data.ts';
import { REFRESH_MS } from './overview.ts';

/** Set once, when the namespace's workloads are first on screen: the dashboard's first-render time. */
export const FIRST_RENDER_MARK = 'trellis:namespace-rendered';

const workloadLink = (r: StatRow) => href({ page: 'workload', namespace: r.resource.namespace, type: r.resource.type, name: r.resource.name });

export function Namespace({ namespace, grafanaUrl }: { namespace: string; grafanaUrl: string | null }) {
  const stat = usePoll(`ns:${namespace}`, REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: 'deploy', namespace }, signal));
  const shown = stat.data !== undefined;
  const rest = usePoll(`rest:${namespace}`, REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: 'all', namespace }, signal), shown);
  const topo = usePoll(`topo:${namespace}`, REFRESH_MS, (signal) => loadTopology('deployment', namespace, signal), shown);
  const graphModule = useModule(() => import('../components/graph.ts'), shown);
  const deployments = stat.data?.rows ?? [];
  const others = (rest.data?.rows ?? []).filter((r) => r.resource.type !== 'deployment');
  const workloads = [...deployments, ...others.filter((r) => WORKLOAD_TYPES.includes(r.resource.type))];
  const pods = others.filter((r) => r.resource.type === 'pod');

  // Layout effects run once the DOM holds the rows, before the browser paints them.
  useLayoutEffect(() => {
    if (shown && performance.getEntriesByName(FIRST_RENDER_MARK).length === 0) performance.mark(FIRST_RENDER_MARK);
  }, [shown]);

  const graph = buildGraph(
    deployments,
    topo.data?.edges ?? [],
    topo.data?.edgeStats ?? new Map(),
  );
  const g = grafanaLink(grafanaUrl, namespace);
  return html`<section>
    <h1>${namespace} ${g ? html`<a class="grafana" href=${g} target="_blank" rel="noopener">Grafana</a>` : null} <${Fresh} at=${stat.at} every="5 s" /></h1>
    <${ErrorBanner} error=${stat.error ?? rest.error} />
    <h2>Workloads</h2>
    ${stat.data
      ? html`<${StatTable} rows=${workloads} grafanaUrl=${grafanaUrl} showKind=${true} empty="No workloads in this namespace." testId="workloads" link=${workloadLink} />`
      : stat.error
        ? null
        : html`<${Loading} what="workloads" />`}
    <h2>Topology</h2>
    <${ErrorBanner} error=${topo.error} />
    ${(topo.data || stat.data) && graphModule ? html`<${graphModule.Graph} nodes=${graph.nodes} edges=${graph.edges} />` : html`<${Loading} what="the graph" />`}
    <h2>Pods</h2>
    ${rest.data ? html`<${StatTable} rows=${pods} grafanaUrl=${grafanaUrl} empty="No pods." testId="pods" />` : shown ? html`<${Loading} what="pods" />` : null}
  </section>`;
}
