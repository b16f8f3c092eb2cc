// OutboundPolicies with route resources against the real API server: Gateway API and policy.linkerd.io
// HTTPRoutes and GRPCRoutes whose parentRef is a Service replace the default route of that port, with their
// matches, filters, weighted backends (a missing backend Service fails its share until it appears),
// annotations and order; an open Watch follows routes as they are created, changed and deleted.
import type { V1Service } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/k8s';
import type { outbound } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Destination } from '../src/app.ts';
import { api, clients, collect, createNamespace, createService, installCrds, startTestDestination, until } from './harness.ts';

const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
const k = api(kc);
let d: Destination;
let c: ReturnType<typeof clients>;
let ns = '';
let otherNs = '';
const logLines: string[] = [];

const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1_000_000 });
type Meta = { kind?: { $case: string; value: unknown } } | undefined;
const metaOf = (m: Meta) => (m?.kind?.$case === 'default' ? `default:${String(m.kind.value)}` : (m?.kind?.value as { kind: string; name: string } | undefined));
const routeNames = (routes: { metadata: Meta }[]) => routes.map((r) => { const m = metaOf(r.metadata); return typeof m === 'string' ? m : m?.name; });

function httpRoutes(p: outbound.OutboundPolicy): outbound.HttpRoute[] {
  if (p.protocol?.kind?.$case !== 'detect') throw new Error(`expected detect, got ${p.protocol?.kind?.$case}`);
  return p.protocol.kind.value.http1?.routes ?? [];
}

function watch(name: string, port: number, fromNs = ns) {
  return collect(c.outbound.watch({ sourceWorkload: JSON.stringify({ ns: fromNs, pod: 'client' }), target: { $case: 'authority', value: `${name}.${ns}.svc.cluster.local:${port}` } }));
}

const custom = (group: string, version: string, plural: string, namespace: string, body: object) =>
  k.custom.createNamespacedCustomObject({ group, version, namespace, plural, body }) as Promise<{ metadata: { name: string; creationTimestamp: string } }>;
const gatewayRoute = (namespace: string, kind: 'HTTPRoute' | 'GRPCRoute', name: string, spec: object, annotations: Record<string, string> = {}) =>
  custom('gateway.networking.k8s.io', 'v1', kind === 'HTTPRoute' ? 'httproutes' : 'grpcroutes', namespace, { apiVersion: 'gateway.networking.k8s.io/v1', kind, metadata: { name, annotations }, spec });
const deleteRoute = (group: string, version: string, plural: string, namespace: string, name: string) => k.custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name });

function balancerPath(b: outbound.Backend | undefined): string | undefined {
  return b?.kind?.$case === 'balancer' && b.kind.value.discovery?.kind?.$case === 'dst' ? b.kind.value.discovery.kind.value.path : undefined;
}

beforeAll(async () => {
  await installCrds(kc);
  ns = await createNamespace(kc, 'dst-routes');
  otherNs = await createNamespace(kc, 'dst-consumer');
  d = await startTestDestination(kc, {}, logLines);
  c = clients(d);
  await createService(kc, ns, 'store', [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'admin', port: 9000, targetPort: 9000 }], {}, { 'retry.linkerd.io/http': '503', 'timeout.linkerd.io/response': '7s' });
  await createService(kc, ns, 'store-v2', [{ name: 'http', port: 8080, targetPort: 8080 }]);
});

afterAll(async () => {
  await d?.close();
});

describe('HTTPRoutes on a Service', () => {
  it('replace the default route, split by weight, fail a missing backend until it exists, and go away on delete', async () => {
    const w = watch('store', 80);
    expect(routeNames(httpRoutes(await w.next('default policy')))).toEqual(['default:http']);

    await gatewayRoute(ns, 'HTTPRoute', 'split', {
      parentRefs: [{ group: '', kind: 'Service', name: 'store', port: 80 }],
      hostnames: ['store.example.com', '*.shop.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-canary', value: 'true' }], queryParams: [{ type: 'RegularExpression', name: 'v', value: '^2' }], method: 'GET' }],
          filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value: 'split' }], remove: ['x-debug'] } }],
          backendRefs: [
            { name: 'store', port: 80, weight: 90 },
            { name: 'store-v2', port: 8080, weight: 10 },
            { name: 'ghost', port: 80, weight: 1 },
          ],
        },
      ],
    }, { 'retry.linkerd.io/http': '5xx', 'retry.linkerd.io/limit': '2', 'timeout.linkerd.io/request': '2s' });

    const routed = await w.next('split route', (p) => routeNames(httpRoutes(p)).includes('split'));
    const [route] = httpRoutes(routed);
    expect(httpRoutes(routed)).toHaveLength(1);
    expect(route?.metadata).toEqual({ kind: { $case: 'resource', value: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'split', namespace: ns, section: '', port: 0 } } });
    expect(route?.hosts).toEqual([{ match: { $case: 'exact', value: 'store.example.com' } }, { match: { $case: 'suffix', value: { reverseLabels: ['com', 'example', 'shop'] } } }]);
    const rule = route?.rules[0];
    expect(rule?.matches).toEqual([
      {
        path: { kind: { $case: 'prefix', value: '/api' } },
        headers: [{ name: 'x-canary', value: { $case: 'exact', value: Buffer.from('true') } }],
        queryParams: [{ name: 'v', value: { $case: 'regex', value: '^2' } }],
        method: { type: { $case: 'registered', value: 0 } },
      },
    ]);
    expect(rule?.filters).toEqual([
      { kind: { $case: 'requestHeaderModifier', value: { add: undefined, set: { headers: [{ name: 'x-route', value: Buffer.from('split') }] }, remove: ['x-debug'] } } },
    ]);
    // The route's annotations replace the Service's retry and timeouts entirely.
    expect(rule?.retry?.maxRetries).toBe(2);
    expect(rule?.retry?.conditions?.statusRanges).toEqual([{ start: 500, end: 599 }]);
    expect(rule?.timeouts).toEqual({ request: ms(2000), response: undefined, idle: undefined });
    const dist = rule?.backends?.kind;
    if (dist?.$case !== 'randomAvailable') throw new Error('expected randomAvailable');
    expect(dist.value.backends.map((b) => b.weight)).toEqual([90, 10, 1]);
    expect(dist.value.backends.map((b) => balancerPath(b.backend?.backend))).toEqual([`store.${ns}.svc.cluster.local:80`, `store-v2.${ns}.svc.cluster.local:8080`, undefined]);
    const ghost = dist.value.backends[2]?.backend;
    expect(ghost?.backend?.metadata).toEqual({ kind: { $case: 'resource', value: { group: 'core', kind: 'Service', name: 'ghost', namespace: ns, section: '', port: 80 } } });
    expect(ghost?.filters).toEqual([{ kind: { $case: 'failureInjector', value: { status: 500, message: 'Service not found ghost', ratio: undefined } } }]);

    // The missing Service appears: its share now goes to a balancer.
    await createService(kc, ns, 'ghost', [{ name: 'http', port: 80, targetPort: 8080 }]);
    const healed = await w.next('ghost backend resolved', (p) => {
      const b = httpRoutes(p)[0]?.rules[0]?.backends?.kind;
      return b?.$case === 'randomAvailable' && balancerPath(b.value.backends[2]?.backend?.backend) !== undefined;
    });
    const hb = httpRoutes(healed)[0]?.rules[0]?.backends?.kind;
    if (hb?.$case !== 'randomAvailable') throw new Error('expected randomAvailable');
    expect(hb.value.backends[2]?.backend?.filters).toEqual([]);

    // The other port of the Service has no route: it keeps the default route with the Service's annotations.
    const admin = await new Promise<outbound.OutboundPolicy>((resolve, reject) =>
      c.outbound.get({ sourceWorkload: '', target: { $case: 'authority', value: `store.${ns}.svc.cluster.local:9000` } }, (err, res) => (err ? reject(err) : resolve(res))),
    );
    const adminRule = httpRoutes(admin)[0]?.rules[0];
    expect(routeNames(httpRoutes(admin))).toEqual(['default:http']);
    expect(adminRule?.retry?.conditions?.statusRanges).toEqual([{ start: 503, end: 503 }]);
    expect(adminRule?.timeouts?.response).toEqual(ms(7000));

    await deleteRoute('gateway.networking.k8s.io', 'v1', 'httproutes', ns, 'split');
    await w.next('default route again', (p) => routeNames(httpRoutes(p)).join() === 'default:http');
    w.cancel();
  });

  it('orders policy.linkerd.io and Gateway API routes by creation time then name, and a rule without backends goes to the Service', async () => {
    const w = watch('store-v2', 8080);
    await w.next('default policy');
    const parentRefs = [{ kind: 'Service', group: 'core', name: 'store-v2' }];
    const b = await gatewayRoute(ns, 'HTTPRoute', 'b-route', { parentRefs, rules: [{ matches: [{ path: { type: 'Exact', value: '/b' } }] }] });
    const a = await custom('policy.linkerd.io', 'v1beta3', 'httproutes', ns, {
      apiVersion: 'policy.linkerd.io/v1beta3',
      kind: 'HTTPRoute',
      metadata: { name: 'a-route' },
      spec: {
        parentRefs,
        rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/a/[0-9]+' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'secure.example.com', statusCode: 301 } }], timeouts: { request: '1500ms' } }],
      },
    });
    const both = await w.next('two routes', (p) => httpRoutes(p).length === 2);
    const byAge = [a, b].sort((x, y) => Date.parse(x.metadata.creationTimestamp) - Date.parse(y.metadata.creationTimestamp) || x.metadata.name.localeCompare(y.metadata.name));
    expect(routeNames(httpRoutes(both))).toEqual(byAge.map((r) => r.metadata.name));
    const aRoute = httpRoutes(both).find((r) => routeNames([r])[0] === 'a-route');
    expect(metaOf(aRoute?.metadata)).toMatchObject({ group: 'policy.linkerd.io', kind: 'HTTPRoute' });
    const aRule = aRoute?.rules[0];
    expect(aRule?.matches[0]?.path).toEqual({ kind: { $case: 'regex', value: '/a/[0-9]+' } });
    expect(aRule?.filters[0]).toEqual({ kind: { $case: 'redirect', value: { scheme: { type: { $case: 'registered', value: 1 } }, host: 'secure.example.com', path: undefined, port: 0, status: 301 } } });
    expect(aRule?.timeouts?.request).toEqual(ms(1500));
    const dist = aRule?.backends?.kind;
    if (dist?.$case !== 'firstAvailable') throw new Error('expected firstAvailable');
    expect(balancerPath(dist.value.backends[0]?.backend)).toBe(`store-v2.${ns}.svc.cluster.local:8080`);
    w.cancel();
  });

  it('applies a route from the client namespace to that namespace only', async () => {
    await gatewayRoute(otherNs, 'HTTPRoute', 'consumer', { parentRefs: [{ kind: 'Service', group: '', name: 'ghost', namespace: ns, port: 80 }], rules: [{ backendRefs: [{ name: 'store', namespace: ns, port: 80 }] }] });
    const mine = watch('ghost', 80, otherNs);
    const routed = await mine.next('consumer route', (p) => routeNames(httpRoutes(p)).includes('consumer'));
    const dist = httpRoutes(routed)[0]?.rules[0]?.backends?.kind;
    if (dist?.$case !== 'randomAvailable') throw new Error('expected randomAvailable');
    expect(balancerPath(dist.value.backends[0]?.backend?.backend)).toBe(`store.${ns}.svc.cluster.local:80`);
    const theirs = watch('ghost', 80, ns);
    expect(routeNames(httpRoutes(await theirs.next('producer view')))).toEqual(['default:http']);
    mine.cancel();
    theirs.cancel();
  });
});

describe('an HTTPRoute that cannot be read', () => {
  it('is ignored with a warning naming it and the problem', async () => {
    await createService(kc, ns, 'solo', [{ name: 'http', port: 80, targetPort: 8080 }]);
    await gatewayRoute(ns, 'HTTPRoute', 'broken', { parentRefs: [{ kind: 'Service', group: '', name: 'solo' }], rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(' } }] }] });
    const warning = await until('a warning about the route', () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['name'] === 'broken'));
    expect(warning).toMatchObject({ level: 40, kind: 'HTTPRoute', namespace: ns, error: 'spec.rules[0].matches[0].path: "/(" is not a valid regular expression' });
    const p = await new Promise<outbound.OutboundPolicy>((resolve, reject) =>
      c.outbound.get({ sourceWorkload: '', target: { $case: 'authority', value: `solo.${ns}.svc.cluster.local:80` } }, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expect(routeNames(httpRoutes(p))).toEqual(['default:http']);
  });
});

describe('GRPCRoutes on a Service', () => {
  it('make the port gRPC with method matches, and follow a change of the route', async () => {
    const svc: V1Service = await createService(kc, ns, 'rpc', [{ name: 'grpc', port: 9090, targetPort: 9090 }], {}, { 'retry.linkerd.io/grpc': 'unavailable' });
    expect(svc.metadata?.name).toBe('rpc');
    const w = watch('rpc', 9090);
    await w.next('default policy');
    const spec = (method: string) => ({
      parentRefs: [{ kind: 'Service', group: 'core', name: 'rpc', port: 9090 }],
      rules: [{ matches: [{ method: { type: 'Exact', service: 'shop.Cart', method }, headers: [{ type: 'RegularExpression', name: 'x-tenant', value: 'a.*' }] }], backendRefs: [{ name: 'rpc', port: 9090 }, { kind: 'Pod', name: 'x', port: 1 }] }],
    });
    await gatewayRoute(ns, 'GRPCRoute', 'cart', spec('Get'), { 'timeout.linkerd.io/request': '3s' });
    const p = await w.next('grpc route', (x) => x.protocol?.kind?.$case === 'grpc' && x.protocol.kind.value.routes.some((r) => routeNames([r])[0] === 'cart'));
    if (p.protocol?.kind?.$case !== 'grpc') throw new Error('expected grpc');
    const rule = p.protocol.kind.value.routes[0]?.rules[0];
    expect(rule?.matches).toEqual([{ rpc: { service: 'shop.Cart', method: 'Get' }, headers: [{ name: 'x-tenant', value: { $case: 'regex', value: 'a.*' } }] }]);
    expect(rule?.timeouts?.request).toEqual(ms(3000));
    // No retry annotation on the route: the Service's gRPC retry applies.
    expect(rule?.retry?.conditions?.unavailable).toBe(true);
    const dist = rule?.backends?.kind;
    if (dist?.$case !== 'randomAvailable') throw new Error('expected randomAvailable');
    expect(dist.value.backends[1]?.backend?.backend?.metadata).toEqual({ kind: { $case: 'default', value: 'invalid' } });
    expect(dist.value.backends[1]?.backend?.filters).toEqual([{ kind: { $case: 'failureInjector', value: { code: 500, message: 'unsupported backend type core Pod', ratio: undefined } } }]);

    const current = (await k.custom.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ns, plural: 'grpcroutes', name: 'cart' })) as { metadata: object };
    await k.custom.replaceNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ns, plural: 'grpcroutes', name: 'cart', body: { ...current, spec: spec('Put') } });
    await w.next('changed method', (x) => x.protocol?.kind?.$case === 'grpc' && x.protocol.kind.value.routes[0]?.rules[0]?.matches[0]?.rpc?.method === 'Put');
    w.cancel();
  });
});
