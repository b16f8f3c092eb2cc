// Edges: which workloads hold connections to which, from the clients' open outbound connections, with the identity
// each end proved. The server's identity is what the client verified (server_id); the client's is its pod's mesh
// identity (what its proxy presents). An edge is secured when its connections are mTLS.
import type { Workloads } from '../kube/workloads.ts';
import type { PrometheusClient } from '../prometheus/client.ts';
import { edgesQuery } from './queries.ts';
import type { ResourceType } from './resources.ts';

export interface Edge {
  readonly src: { readonly type: ResourceType; readonly namespace: string; readonly name: string };
  readonly dst: { readonly type: ResourceType; readonly namespace: string; readonly name: string };
  /** The client's mesh identity; empty when its pod is gone or not meshed. */
  readonly clientId: string;
  /** The server's identity as the client verified it; empty for plaintext. */
  readonly serverId: string;
  readonly secured: boolean;
  /** Why the connection is not mTLS (the proxy's no_tls_reason), when it is not. */
  readonly noTlsReason: string;
  readonly openConnections: number;
}

export interface EdgesContext {
  readonly prometheus: PrometheusClient;
  readonly workloads: Workloads;
  readonly now: () => number;
}

interface Acc {
  src: string;
  srcNs: string;
  dst: string;
  dstNs: string;
  pod: string;
  serverId: string;
  secured: boolean;
  noTlsReason: string;
  connections: number;
}

export async function edges(ctx: EdgesContext, type: ResourceType, namespace: string | undefined): Promise<Edge[]> {
  const q = edgesQuery(type);
  const samples = await ctx.prometheus.query(q.query, ctx.now());
  const byEdge = new Map<string, Acc>();
  for (const s of samples) {
    if (!(s.value > 0)) continue;
    const l = s.labels;
    const srcNs = l['namespace'] ?? '';
    const dstNs = l['dst_namespace'] ?? '';
    if (namespace && namespace !== srcNs && namespace !== dstNs) continue;
    const e = { src: l[q.src] ?? '', srcNs, dst: l[q.dst] ?? '', dstNs };
    const key = [e.src, e.srcNs, e.dst, e.dstNs].join('\u0000');
    const secured = l['tls'] === 'true';
    const a = byEdge.get(key);
    if (!a) {
      byEdge.set(key, { ...e, pod: l['pod'] ?? '', serverId: l['server_id'] ?? '', secured, noTlsReason: secured ? '' : (l['no_tls_reason'] ?? ''), connections: s.value });
      continue;
    }
    // Several series make one edge (one per client pod, per server identity): it is secured only if all are.
    a.connections += s.value;
    if (!secured && a.secured) {
      a.secured = false;
      a.noTlsReason = l['no_tls_reason'] ?? '';
    }
    if (!a.serverId) a.serverId = l['server_id'] ?? '';
  }
  const out = await Promise.all(
    [...byEdge.values()].map(async (a): Promise<Edge> => ({
      src: { type, namespace: a.srcNs, name: a.src },
      dst: { type, namespace: a.dstNs, name: a.dst },
      clientId: (a.pod ? await ctx.workloads.podIdentity(a.srcNs, a.pod) : undefined) ?? '',
      serverId: a.serverId,
      secured: a.secured,
      noTlsReason: a.noTlsReason,
      openConnections: Math.round(a.connections),
    })),
  );
  return out.sort((x, y) => x.src.namespace.localeCompare(y.src.namespace) || x.src.name.localeCompare(y.src.name) || x.dst.namespace.localeCompare(y.dst.namespace) || x.dst.name.localeCompare(y.dst.name));
}
