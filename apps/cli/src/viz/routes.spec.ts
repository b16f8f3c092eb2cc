import { describe, expect, it } from 'vitest';
import { renderRoutes, routesJson, type ApiRouteRow } from './routes.ts';

const svc = (name: string) => ({ kind: 'Service' as const, namespace: 'emojivoto', name });
const stats = (successRate: number, rps: number, p50: number, p95: number, p99: number) => ({ successRate, rps, latencyMs: { p50, p95, p99 } });

const INBOUND: ApiRouteRow[] = [
  { route: 'GET /api/list', kind: 'ServiceProfile', parent: svc('web-svc'), authority: 'web-svc.emojivoto.svc.cluster.local:80', stats: stats(1, 1.0333, 0.8, 1.9, 2.95), actual: null },
  { route: 'GET /api/vote', kind: 'ServiceProfile', parent: svc('web-svc'), authority: 'web-svc.emojivoto.svc.cluster.local:80', stats: stats(0.8333, 0.9, 4.2, 9.6, 38.4), actual: null },
  { route: 'POST /api/unused', kind: 'ServiceProfile', parent: svc('web-svc'), authority: 'web-svc.emojivoto.svc.cluster.local', stats: null, actual: null },
  { route: '[DEFAULT]', kind: 'default', parent: svc('web-svc'), authority: 'web-svc.emojivoto.svc.cluster.local', stats: null, actual: null },
  { route: 'web-api', kind: 'HTTPRoute', parent: { kind: 'Server', namespace: 'emojivoto', name: 'web-http' }, authority: '', stats: stats(0.5, 2, 3, 4.9, 5), actual: null },
];

describe('renderRoutes', () => {
  it("prints Linkerd's columns, dashes where the window saw no request, the Server of an inbound HTTPRoute", () => {
    expect(renderRoutes(INBOUND, false)).toBe(
      [
        'ROUTE              SERVICE           SUCCESS      RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99',
        'GET /api/list      web-svc           100.00%   1.0rps           1ms           2ms           3ms',
        'GET /api/vote      web-svc            83.33%   0.9rps           4ms          10ms          38ms',
        'POST /api/unused   web-svc                 -        -             -             -             -',
        '[DEFAULT]          web-svc                 -        -             -             -             -',
        'web-api            server/web-http    50.00%   2.0rps           3ms           5ms           5ms',
        '',
      ].join('\n'),
    );
  });

  it('splits success and RPS into effective and actual (retries) in wide output', () => {
    const rows: ApiRouteRow[] = [
      { route: 'GET /api/vote', kind: 'ServiceProfile', parent: svc('web-svc'), authority: 'web-svc.emojivoto.svc.cluster.local:80', stats: stats(0.8, 2.5, 25, 29.5, 29.9), actual: { successRate: 0.5, rps: 4 } },
      { route: 'vote-route', kind: 'HTTPRoute', parent: svc('voting-svc'), authority: '', stats: stats(0.6, 5, 175, 242.5, 248.5), actual: null },
    ];
    expect(renderRoutes(rows, true)).toBe(
      [
        'ROUTE           SERVICE      EFFECTIVE_SUCCESS   EFFECTIVE_RPS   ACTUAL_SUCCESS   ACTUAL_RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99',
        'GET /api/vote   web-svc                 80.00%          2.5rps           50.00%       4.0rps          25ms          30ms          30ms',
        'vote-route      voting-svc              60.00%          5.0rps                -            -         175ms         243ms         249ms',
        '',
      ].join('\n'),
    );
  });
});

describe('routesJson', () => {
  it('keys the rows by the resource, leaving out the numbers of a route without traffic', () => {
    const json = JSON.parse(routesJson('deploy/web', INBOUND.slice(1, 3), false)) as Record<string, unknown[]>;
    expect(json).toEqual({
      'deploy/web': [
        { route: 'GET /api/vote', service: 'web-svc', authority: 'web-svc.emojivoto.svc.cluster.local:80', success: 0.8333, rps: 0.9, latency_ms_p50: 4.2, latency_ms_p95: 9.6, latency_ms_p99: 38.4 },
        { route: 'POST /api/unused', service: 'web-svc', authority: 'web-svc.emojivoto.svc.cluster.local', latency_ms_p50: null, latency_ms_p95: null, latency_ms_p99: null },
      ],
    });
  });
});
