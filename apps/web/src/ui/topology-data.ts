// Loads what a topology graph needs: the edges of a type (in one namespace or all), and for each caller the stats
// of its calls to each callee (one stat call per caller, in parallel).
import type { Edge, EdgesAnswer, StatAnswer, StatRow } from '../api-types.ts';
import { getJson } from './api.ts';
import { edgeKey } from './components/graph-model.ts';
import { shortType } from './format.ts';

export interface TopologyData {
  readonly edges: readonly Edge[];
  readonly edgeStats: ReadonlyMap<string, StatRow['stats']>;
}

export async function loadTopology(type: string, namespace: string | undefined, signal: AbortSignal): Promise<TopologyData> {
  const { edges } = await getJson<EdgesAnswer>('edges', { resource: shortType(type), namespace }, signal);
  const callers = new Map<string, Edge['src']>();
  for (const e of edges) callers.set(`${e.src.namespace}/${e.src.name}`, e.src);
  const answers = await Promise.all(
    [...callers.values()].map((src) =>
      getJson<StatAnswer>('stat', { resource: shortType(type), from: `${shortType(src.type)}/${src.name}`, fromNamespace: src.namespace }, signal).then((a) => ({ src, rows: a.rows })),
    ),
  );
  const edgeStats = new Map<string, StatRow['stats']>();
  for (const { src, rows } of answers) for (const r of rows) edgeStats.set(edgeKey(src, r.resource), r.stats);
  return { edges, edgeStats };
}
