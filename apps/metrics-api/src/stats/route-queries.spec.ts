import { describe, expect, it } from 'vitest';
import { routeQueries } from './route-queries.ts';

const base = { window: '1m', adminPort: 4191 } as const;

describe('routeQueries', () => {
  it("reads a workload's inbound profile routes by rt_route and dst, and its Server's policy routes without the default route or the admin port", () => {
    const [profile, policy] = routeQueries({ ...base, target: { type: 'deployment', name: 'web', namespace: 'emojivoto' } });
    expect(profile?.counts).toBe('sum(increase(route_response_total{deployment="web",namespace="emojivoto",direction="inbound"}[1m])) by (dst, rt_route, classification)');
    expect(profile?.latency.p99).toBe('histogram_quantile(0.99, sum(irate(route_response_latency_ms_bucket{deployment="web",namespace="emojivoto",direction="inbound"}[1m])) by (le, dst, rt_route))');
    expect(policy?.counts).toBe('sum(increase(response_total{deployment="web",namespace="emojivoto",direction="inbound",target_port!="4191",route_kind!~"default|"}[1m])) by (srv_name, route_kind, route_name, classification)');
  });

  it("reads a Service's inbound profile routes by the authority its pods were called at", () => {
    const q = routeQueries({ ...base, target: { type: 'service', name: 'web-svc', namespace: 'emojivoto' } });
    expect(q).toHaveLength(1);
    expect(q[0]?.counts).toBe('sum(increase(route_response_total{namespace="emojivoto",direction="inbound",dst=~"(web-svc)\\\\.emojivoto\\\\.svc\\\\..+"}[1m])) by (dst, rt_route, classification)');
  });

  it("with to, reads the client's profile routes (effective and actual) and policy routes of the Services, by parent", () => {
    const [profile, http, grpc] = routeQueries({ ...base, target: { type: 'deployment', name: 'web', namespace: 'emojivoto' }, to: { namespace: 'emojivoto', services: ['voting-svc', 'voting.v2'] } });
    expect(profile?.actualCounts).toBe('sum(increase(route_actual_response_total{deployment="web",namespace="emojivoto",direction="outbound",dst=~"(voting-svc|voting\\\\.v2)\\\\.emojivoto\\\\.svc\\\\..+"}[1m])) by (dst, rt_route, classification)');
    expect(http?.counts).toBe('sum(increase(outbound_http_route_request_statuses_total{deployment="web",namespace="emojivoto",parent_kind="Service",parent_namespace="emojivoto",parent_name=~"voting-svc|voting\\\\.v2"}[1m])) by (parent_name, route_kind, route_name, http_status, error)');
    expect(http?.seconds).toBe(true);
    expect(grpc?.latency.p50).toContain('outbound_grpc_route_request_duration_seconds_bucket{');
  });
});
