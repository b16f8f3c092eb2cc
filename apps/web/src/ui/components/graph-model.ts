// The topology graph's model: workloads as nodes, open connections between them as edges, each carrying the
// success rate the caller saw on that edge, so a failing call path stands out (not just a failing workload).
import type { Edge, ResourceRef, StatRow } from '../../api-types.ts';
import { health, type Health } from '../format.ts';

export interface GraphNode {
  readonly id: string;
  readonly ref: ResourceRef;
  readonly successRate: number | null;
  readonly rps: number | null;
  readonly health: Health;
}

export interface GraphEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly secured: boolean;
  readonly noTlsReason: string;
  readonly successRate: number | null;
  readonly rps: number | null;
  readonly health: Health;
}

export const nodeId = (r: ResourceRef): string => `${r.namespace}/${r.type}/${r.name}`;

/** `caller>callee` key of the stats of the calls along one edge. */
export const edgeKey = (src: ResourceRef, dst: ResourceRef): string => `${nodeId(src)}>${nodeId(dst)}`;

/**
 * Nodes are the rows given (the namespace's workloads, traffic or not) and every end of an edge (a caller or callee
 * in another namespace); edges are merged per caller and callee (one per pair whatever the pods), secured only
 * when every connection is.
 */
export function buildGraph(rows: readonly StatRow[], edges: readonly Edge[], edgeStats: ReadonlyMap<string, StatRow['stats']>): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const add = (ref: ResourceRef, row?: StatRow) => {
    const id = nodeId(ref);
    if (nodes.has(id) && !row) return;
    const rate = row?.stats?.successRate ?? null;
    nodes.set(id, { id, ref, successRate: rate, rps: row?.stats?.rps ?? null, health: health(rate) });
  };
  for (const r of rows) add(r.resource, r);
  const merged = new Map<string, GraphEdge>();
  for (const e of edges) {
    add(e.src);
    add(e.dst);
    const id = edgeKey(e.src, e.dst);
    const prev = merged.get(id);
    if (prev) {
      merged.set(id, { ...prev, secured: prev.secured && e.secured, noTlsReason: prev.noTlsReason || e.noTlsReason });
      continue;
    }
    const s = edgeStats.get(id);
    const rate = s?.successRate ?? null;
    merged.set(id, { id, source: nodeId(e.src), target: nodeId(e.dst), secured: e.secured, noTlsReason: e.noTlsReason, successRate: rate, rps: s?.rps ?? null, health: health(rate) });
  }
  return { nodes: [...nodes.values()], edges: [...merged.values()] };
}
