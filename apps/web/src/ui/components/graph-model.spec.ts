import { describe, expect, it } from 'vitest';
import type { Edge, StatRow } from '../../api-types.ts';
import { buildGraph, edgeKey } from './graph-model.ts';

const ref = (name: string, namespace = 'emojivoto') => ({ type: 'deployment', namespace, name });
const row = (name: string, successRate: number | null): StatRow => ({
  resource: ref(name),
  pods: { running: 1, meshed: 1, failed: 0 },
  stats: successRate === null ? null : { successCount: 9, failureCount: 1, successRate, rps: 1, securedRate: 1, latencyMs: { p50: 1, p95: 2, p99: 3 } },
  tcp: null,
});
const edge = (src: string, dst: string, secured: boolean, dstNs = 'emojivoto'): Edge => ({
  src: ref(src),
  dst: ref(dst, dstNs),
  clientId: `${src}.emojivoto.serviceaccount.identity.trellis.cluster.local`,
  serverId: secured ? `${dst}.${dstNs}.serviceaccount.identity.trellis.cluster.local` : '',
  secured,
  noTlsReason: secured ? '' : 'not_provided_by_service_discovery',
  openConnections: 1,
});

describe('buildGraph', () => {
  it('marks the edge whose calls fail, not only the workload, and keeps idle workloads as nodes', () => {
    const stats = new Map([[edgeKey(ref('web'), ref('voting')), row('voting', 0.88).stats]]);
    const g = buildGraph([row('web', 1), row('voting', 0.88), row('idle', null)], [edge('web', 'voting', true), edge('web', 'emoji', true)], stats);
    expect(g.nodes.map((n) => [n.ref.name, n.health])).toEqual([['web', 'good'], ['voting', 'bad'], ['idle', 'none'], ['emoji', 'none']]);
    expect(g.edges.map((e) => [e.target, e.health, e.secured])).toEqual([
      ['emojivoto/deployment/voting', 'bad', true],
      ['emojivoto/deployment/emoji', 'none', true],
    ]);
  });

  it('merges the connections of one caller and callee into one edge, secured only when all are', () => {
    const g = buildGraph([], [edge('web', 'voting', true), edge('web', 'voting', false)], new Map());
    expect(g.edges).toHaveLength(1);
    expect(g.edges[0]).toMatchObject({ secured: false, noTlsReason: 'not_provided_by_service_discovery' });
  });

  it('adds a callee in another namespace as its own node', () => {
    const g = buildGraph([row('web', 1)], [edge('web', 'db', true, 'data')], new Map());
    expect(g.nodes.map((n) => n.id)).toEqual(['emojivoto/deployment/web', 'data/deployment/db']);
  });
});
