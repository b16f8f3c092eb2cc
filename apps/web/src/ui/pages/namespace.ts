// A namespace: its workloads with meshed pods and golden metrics (refreshed live), the graph of who calls whom,
// and its pods.
import { html } from 'htm/preact';
import { useEffect } from 'preact/hooks';
import type { StatAnswer, StatRow } from '../../api-types.ts';
import { getJson, usePoll } from '../api.ts';
import { ErrorBanner, Fresh, Loading } from '../components/common.ts';
import { Graph } from '../components/graph.ts';
import { buildGraph } from '../components/graph-model.ts';
import { StatTable } from '../components/stat-table.ts';
import { WORKLOAD_TYPES } from '../format.ts';
import { grafanaLink } from '../grafana.ts';
import { href } from '../route.ts';
import { loadTopology } from '../topology-data.ts';
import { REFRESH_MS } from './overview.ts';

/** Set once, when the namespace's workloads are first on screen: the dashboard's first-render time. */
export const FIRST_RENDER_MARK = 'trellis:namespace-rendered';

const workloadLink = (r: StatRow) => href({ page: 'workload', namespace: r.resource.namespace, type: r.resource.type, name: r.resource.name });

export function Namespace({ namespace, grafanaUrl }: { namespace: string; grafanaUrl: string | null }) {
  const stat = usePoll(`ns:${namespace}`, REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: 'all', namespace }, signal));
  const topo = usePoll(`topo:${namespace}`, REFRESH_MS, (signal) => loadTopology('deployment', namespace, signal));
  const rows = stat.data?.rows ?? [];
  const workloads = rows.filter((r) => WORKLOAD_TYPES.includes(r.resource.type));
  const pods = rows.filter((r) => r.resource.type === 'pod');

  useEffect(() => {
    if (stat.data && performance.getEntriesByName(FIRST_RENDER_MARK).length === 0) performance.mark(FIRST_RENDER_MARK);
  }, [stat.data]);

  const graph = buildGraph(
    workloads.filter((r) => r.resource.type === 'deployment'),
    topo.data?.edges ?? [],
    topo.data?.edgeStats ?? new Map(),
  );
  const g = grafanaLink(grafanaUrl, namespace);
  return html`<section>
    <h1>${namespace} ${g ? html`<a class="grafana" href=${g} target="_blank" rel="noopener">Grafana</a>` : null} <${Fresh} at=${stat.at} every="5 s" /></h1>
    <${ErrorBanner} error=${stat.error} />
    <h2>Workloads</h2>
    ${stat.data
      ? html`<${StatTable} rows=${workloads} grafanaUrl=${grafanaUrl} showKind=${true} empty="No workloads in this namespace." testId="workloads" link=${workloadLink} />`
      : stat.error
        ? null
        : html`<${Loading} what="workloads" />`}
    <h2>Topology</h2>
    <${ErrorBanner} error=${topo.error} />
    ${topo.data || stat.data ? html`<${Graph} nodes=${graph.nodes} edges=${graph.edges} />` : html`<${Loading} what="the graph" />`}
    <h2>Pods</h2>
    ${stat.data ? html`<${StatTable} rows=${pods} grafanaUrl=${grafanaUrl} empty="No pods." testId="pods" />` : null}
  </section>`;
}
