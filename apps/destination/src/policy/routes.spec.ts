import { describe, expect, it } from 'vitest';
import { byAgeThenName, GROUP_GATEWAY, GROUP_POLICY, hostMatch, routeRecord, type RouteRecord } from './routes.ts';

const route = (spec: object, extra: { annotations?: Record<string, string>; creationTimestamp?: string } = {}) => ({
  metadata: { name: 'r', namespace: 'shop', ...extra },
  spec,
});

describe('routeRecord', () => {
  it('reads parents and backends with their defaults (core group, Service kind, the route namespace, weight 1)', () => {
    const r = routeRecord(route({ parentRefs: [{ kind: 'Service', name: 'web', port: 80 }], rules: [{ backendRefs: [{ name: 'web-v2', port: 8080 }] }] }), GROUP_GATEWAY, 'HTTPRoute');
    expect(r.error).toBeUndefined();
    expect(r.parentRefs).toEqual([{ group: 'core', kind: 'Service', namespace: 'shop', name: 'web', port: 80 }]);
    expect(r.rules[0]?.backends).toEqual([{ group: 'core', kind: 'Service', namespace: 'shop', name: 'web-v2', port: 8080, weight: 1, filters: [], invalid: undefined }]);
  });

  it('marks a route with an unsupported filter or a bad regex as unusable, naming the field', () => {
    expect(routeRecord(route({ rules: [{ filters: [{ type: 'URLRewrite' }] }] }), GROUP_GATEWAY, 'HTTPRoute').error).toBe('spec.rules[0].filters[0]: filter type "URLRewrite" is not supported');
    expect(routeRecord(route({ rules: [{ matches: [{ path: { type: 'RegularExpression', value: '(' } }] }] }), GROUP_GATEWAY, 'HTTPRoute').error).toContain('spec.rules[0].matches[0].path');
    expect(routeRecord(route({ rules: [{ matches: [{ method: { type: 'RegularExpression', service: 'a.*' } }] }] }), GROUP_GATEWAY, 'GRPCRoute').error).toContain('not supported');
  });

  it('makes a backend with an unsupported filter invalid instead of the whole route', () => {
    const r = routeRecord(route({ rules: [{ backendRefs: [{ name: 'web', port: 80, filters: [{ type: 'RequestMirror' }] }] }] }), GROUP_GATEWAY, 'HTTPRoute');
    expect(r.error).toBeUndefined();
    expect(r.rules[0]?.backends[0]?.invalid).toContain('unsupported backend filter');
  });

  it('leaves out the filters a gRPC route cannot carry and reports them', () => {
    const r = routeRecord(
      route({ rules: [{ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'a', value: 'b' }] } }, { type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'c', value: 'd' }] } }] }] }),
      GROUP_GATEWAY,
      'GRPCRoute',
    );
    expect(r.rules[0]?.filters.map((f) => f.type)).toEqual(['requestHeaderModifier']);
    expect(r.problems).toHaveLength(1);
  });

  it('reads spec timeouts of a policy.linkerd.io HTTPRoute, zero meaning none', () => {
    const t = (request: string) => routeRecord(route({ rules: [{ timeouts: { request } }] }), GROUP_POLICY, 'HTTPRoute').rules[0]?.requestTimeoutMs;
    expect(t('1m30s')).toBe(90_000);
    expect(t('0s')).toBeUndefined();
  });

  it('parses route annotations for its kind', () => {
    const r = routeRecord(route({}, { annotations: { 'retry.linkerd.io/grpc': 'internal', 'retry.linkerd.io/http': '5xx' } }), GROUP_GATEWAY, 'GRPCRoute');
    expect(r.annotations.grpcRetry?.conditions).toEqual(['internal']);
    expect(r.annotations.httpRetry?.conditions).toBeUndefined();
  });
});

describe('routes', () => {
  it('turns wildcard hostnames into reversed suffix labels', () => {
    expect(hostMatch('*.example.com')).toEqual({ match: { $case: 'suffix', value: { reverseLabels: ['com', 'example'] } } });
    expect(hostMatch('example.com')).toEqual({ match: { $case: 'exact', value: 'example.com' } });
  });

  it('orders by creation time, then name, with undated routes last', () => {
    const at = (name: string, createdMs?: number) => ({ name, createdMs }) as RouteRecord;
    const sorted = [at('b', 2000), at('z'), at('c', 1000), at('a', 2000)].sort(byAgeThenName).map((r) => r.name);
    expect(sorted).toEqual(['c', 'a', 'b', 'z']);
  });
});
