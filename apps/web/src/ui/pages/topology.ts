// Every namespace's deployments and the open connections between them: the mesh at a glance.
import { html } from 'htm/preact';
import type { StatAnswer } from '../../api-types.ts';
import { getJson, usePoll } from '../api.ts';
import { ErrorBanner, Fresh, Loading } from '../components/common.ts';
import { buildGraph } from '../components/graph-model.ts';
import { useModule } from '../lazy.ts';
import { loadTopology } from '../topology-data.ts';
import { REFRESH_MS } from './overview.ts';

export function Topology() {
  const graphModule = useModule(() => import('../components/graph.ts'));
  const topo = usePoll('topology', REFRESH_MS, (signal) => loadTopology('deployment', undefined, signal));
  // Only deployments that take part in an edge: the graph of a whole cluster stays readable.
  const stat = usePoll('topology-stat', REFRESH_MS, (signal) => getJson<StatAnswer>('stat', { resource: 'deploy' }, signal));
  const ends = new Set((topo.data?.edges ?? []).flatMap((e) => [`${e.src.namespace}/${e.src.name}`, `${e.dst.namespace}/${e.dst.name}`]));
  const rows = (stat.data?.rows ?? []).filter((r) => ends.has(`${r.resource.namespace}/${r.resource.name}`));
  const graph = buildGraph(rows, topo.data?.edges ?? [], topo.data?.edgeStats ?? new Map());
  return html`<section>
    <h1>Topology <${Fresh} at=${topo.at} every="5 s" /></h1>
    <p class="lead">Deployments with open connections between them: solid lines are mutual TLS, dashed are plaintext; the colour is the success rate the caller sees.</p>
    <${ErrorBanner} error=${topo.error ?? stat.error} />
    ${topo.data && graphModule ? html`<${graphModule.Graph} nodes=${graph.nodes} edges=${graph.edges} />` : html`<${Loading} what="the graph" />`}
  </section>`;
}
