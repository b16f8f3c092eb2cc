import { createServer, request, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import { destination, durationFromMillis, outbound, tcpAddress } from '@trellis/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listenOn } from '../../test/harness.ts';
import type { StubDestination } from '../../test/mesh-stub-destination.ts';
import { startStubDiscovery, type StubDiscovery } from '../../test/stub-discovery.ts';
import { FailFastError } from '../balance/errors.ts';
import type { Discovery } from '../discovery/discovery.ts';
import { OutboundResolver, type Resolution } from '../discovery/outbound.ts';
import { attachTarget } from '../http/connection.ts';
import { forwardExchange, type HttpContext } from '../http/exchange.ts';
import { createH1Server } from '../http/h1.ts';
import { createPools } from '../http/pool.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { PolicyWatch } from '../policy/policy-discovery.ts';
import { TargetCache } from '../tcp/targets.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';
import { EndpointClient } from './endpoint-client.ts';
import { MeshUpstream, type Upstream } from './mesh-upstream.ts';
import { OpaqueRouteRefusedError } from './policy/errors.ts';
import { PolicyTarget } from './policy/target.ts';

// Every endpoint here is plaintext (no identity) and destination is on loopback: the TLS part is never asked.
const noTls = undefined as unknown as MeshTls;
const quiet = { warn: () => undefined, debug: () => undefined };
const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const targets = new TargetCache(metrics, 'all-unauthenticated');

let stub: StubDestination;
let discovery: Discovery;
let resolver: OutboundResolver;
let sd: StubDiscovery;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  sd = await startStubDiscovery(50);
  stub = sd.stub;
  discovery = sd.discovery;
  resolver = new OutboundResolver(discovery, { tls: noTls, failfastMs: 300 });
});

afterAll(() => sd.close());

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  cleanups.push(() => server.close());
  return listenOn(server);
}

/** An app server that answers `name <path>` and keeps the requests it saw. */
async function app(name: string): Promise<{ port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.end(`${name} ${req.url ?? ''}`);
  });
  cleanups.push(() => server.closeAllConnections());
  return { port: await listen(server), seen };
}

const meta = (kind: string, name: string) => ({ kind: { $case: 'resource' as const, value: { group: 'policy.linkerd.io', kind, name, namespace: 'default', section: '', port: 0 } } });

function forwardTo(port: number): outbound.Backend {
  return outbound.Backend.fromPartial({ metadata: meta('Service', `app-${port}`), queue: { capacity: 100, failfastTimeout: durationFromMillis(300) }, kind: { $case: 'forward', value: { addr: tcpAddress('127.0.0.1', port), weight: 1 } } });
}

const toOne = (port: number) => outbound.HttpRoute_Distribution.fromPartial({ kind: { $case: 'firstAvailable', value: { backends: [{ backend: forwardTo(port) }] } } });

/** A policy whose HTTP requests all go to the app on `port`. */
function httpPolicy(port: number): outbound.OutboundPolicy {
  const http = { routes: [{ metadata: meta('HTTPRoute', 'books-route'), rules: [{ backends: toOne(port) }] }] };
  return outbound.OutboundPolicy.fromPartial({ metadata: meta('Service', 'books'), protocol: { kind: { $case: 'detect', value: { timeout: durationFromMillis(10_000), http1: http, http2: http, opaque: { routes: [] } } } } });
}

/** A policy target for 10.96.0.10:80, and how many times its policy lease was released. */
function policyTarget(policy: outbound.OutboundPolicy): { target: PolicyTarget; released: () => number } {
  let released = 0;
  const lease = { value: new PolicyWatch<outbound.OutboundPolicy>('10.96.0.10:80'), release: () => void released++ };
  return { target: new PolicyTarget('10.96.0.10:80', policy, lease, discovery, { tls: noTls, log: quiet }), released: () => released };
}

/** A service of its own for each test (watches are shared by key and outlive a test by the idle timeout). */
let services = 0;
interface Books {
  readonly ip: string;
  readonly fqn: string;
  /** GetProfile of ip:80 names the service (with `profile`), whose Get answers the app on `port` (none: no endpoints). */
  serve(port: number | undefined, profile?: Parameters<typeof destination.DestinationProfile.fromPartial>[0]): void;
  resolve(): Promise<Exclude<Resolution, { kind: 'forward' }>>;
}

function books(): Books {
  const n = ++services;
  const ip = `10.96.0.${n}`;
  const fqn = `books-${n}.default.svc.cluster.local`;
  return {
    ip,
    fqn,
    serve(port, profile = {}) {
      stub.profiles.set(`${ip}:80`, destination.DestinationProfile.fromPartial({ fullyQualifiedName: fqn, ...profile }));
      const add = port === undefined ? [] : [destination.Update.fromPartial({ update: { $case: 'add', value: { metricLabels: { service: 'books' }, addrs: [{ addr: tcpAddress('127.0.0.1', port), weight: 10000 }] } } })];
      stub.services.set(`${fqn}:80`, add);
    },
    async resolve() {
      const r = await resolver.resolve(ip, 80);
      if (r.kind === 'forward') throw new Error(`${ip}:80 should resolve by its profile`);
      return r;
    },
  };
}

const withRoutes = { routes: [{ metricsLabels: { route: 'books' }, condition: { match: { $case: 'path' as const, value: { regex: '/books(/.*)?' } } } }] };

/** An upstream, and the port of an outbound HTTP/1 front whose connections it routes. */
async function upstream(u: Upstream): Promise<{ up: MeshUpstream; port: number }> {
  const up = new MeshUpstream(u, new EndpointClient(noTls, () => false));
  // A target is released once: by the test that watches its release, else after it.
  const release = up.release.bind(up);
  let released = false;
  up.release = () => {
    if (!released) release();
    released = true;
  };
  const pools = createPools({ idleTimeoutMs: 0, maxIdle: 10, connectTimeoutMs: 1000 });
  const h1 = createH1Server({ ctx, pools, handler: forwardExchange, headerReadTimeoutMs: 10_000, isDraining: () => false });
  const entry = targets.get('outbound', '10.96.0.10', 80, false);
  const accept = createNetServer((socket) => {
    attachTarget(socket, entry, up);
    h1.emit('connection', socket);
  });
  cleanups.push(
    () => up.release(),
    () => pools.lean.destroy(),
    () => h1.closeAllConnections(),
  );
  return { up, port: await listen(accept) };
}

function send(port: number, path: string): Promise<{ status: number; body: string; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: 'books.default.svc.cluster.local' }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, error: res.headers['l5d-proxy-error'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a meshed outbound target', () => {
  it("sends a policy target's requests by its policy", async () => {
    const viaPolicy = await app('policy');
    const { target } = policyTarget(httpPolicy(viaPolicy.port));
    const { up, port } = await upstream({ kind: 'policy', target, profile: undefined });
    expect([up.hasPolicy, up.policy === target, up.opaque]).toEqual([true, true, false]);
    expect(await send(port, '/books/1')).toEqual({ status: 200, body: 'policy /books/1', error: undefined });
  });

  it('follows a ServiceProfile with routes over the policy, naming the service in l5d-dst-canonical, and the policy again once the routes go', async () => {
    const viaProfile = await app('profile');
    const viaPolicy = await app('policy');
    const b = books();
    b.serve(viaProfile.port, withRoutes);
    const r = await b.resolve();
    if (r.kind !== 'logical') throw new Error('books is a service');
    const { target } = policyTarget(httpPolicy(viaPolicy.port));
    const { up, port } = await upstream({ kind: 'policy', target, profile: r.target });
    expect([up.routes.kind, up.policy, up.hasPolicy]).toEqual(['profile', undefined, true]);
    expect((await send(port, '/books/1')).body).toBe('profile /books/1');
    expect(viaProfile.seen[0]?.headers['l5d-dst-canonical']).toBe(`${b.fqn}:80`);
    stub.pushProfile(`${b.ip}:80`, destination.DestinationProfile.fromPartial({ fullyQualifiedName: b.fqn }));
    await expect.poll(() => up.routes.kind).toBe('policy');
    expect((await send(port, '/books/2')).body).toBe('policy /books/2');
  });

  it('takes a policy that arrives after it was resolved for new requests, and gives back a second one or one that comes after its release', async () => {
    const viaProfile = await app('profile');
    const viaPolicy = await app('policy');
    const b = books();
    b.serve(viaProfile.port);
    const { up, port } = await upstream(await b.resolve());
    expect([up.hasPolicy, (await send(port, '/a')).body]).toEqual([false, 'profile /a']);
    const first = policyTarget(httpPolicy(viaPolicy.port));
    up.adoptPolicy(first.target);
    expect([up.hasPolicy, (await send(port, '/b')).body]).toEqual([true, 'policy /b']);
    const second = policyTarget(httpPolicy(viaProfile.port));
    up.adoptPolicy(second.target);
    expect([second.released(), (await send(port, '/c')).body]).toEqual([1, 'policy /c']);
    up.release();
    expect(first.released()).toBe(1);
    const late = policyTarget(httpPolicy(viaPolicy.port));
    up.adoptPolicy(late.target);
    expect(late.released()).toBe(1);
  });

  it('fails fast when the service has no endpoint within the failfast timeout: 504, then 503 at once while it stays so', async () => {
    const b = books();
    b.serve(undefined);
    const { up, port } = await upstream(await b.resolve());
    const started = performance.now();
    await expect(up.pick()).rejects.toBeInstanceOf(FailFastError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const r = await send(port, '/books/1');
    expect(r.status).toBe(503);
    expect(r.error).toContain('fail-fast');
  });

  it("sends a known pod's requests to its one endpoint", async () => {
    const pod = await app('pod');
    const b = books();
    stub.profiles.set(`${b.ip}:80`, destination.DestinationProfile.fromPartial({ endpoint: { addr: tcpAddress('127.0.0.1', pod.port), weight: 10000 } }));
    const r = await b.resolve();
    expect(r.kind).toBe('endpoint');
    const { up, port } = await upstream(r);
    expect((await up.pick()).me.endpoint.addr).toBe(`127.0.0.1:${pod.port}`);
    expect((await send(port, '/x')).body).toBe('pod /x');
  });

  it("takes opaque connections through the policy's opaque route, and refuses them when that route forbids", async () => {
    const tcp = await app('tcp');
    const opaque = (filters: outbound.OpaqueRoute_Filter[]) =>
      outbound.OutboundPolicy.fromPartial({
        metadata: meta('Service', 'books'),
        protocol: {
          kind: {
            $case: 'opaque',
            value: { routes: [{ metadata: meta('TCPRoute', 'books-tcp'), rules: [{ filters, backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: forwardTo(tcp.port) }] } } } }] }] },
          },
        },
      });
    const open = await upstream({ kind: 'policy', target: policyTarget(opaque([])).target, profile: undefined });
    expect(open.up.opaque).toBe(true);
    expect((await open.up.pick()).me.endpoint.addr).toBe(`127.0.0.1:${tcp.port}`);
    const closed = await upstream({ kind: 'policy', target: policyTarget(opaque([{ kind: { $case: 'forbidden', value: {} } }])).target, profile: undefined });
    await expect(closed.up.pick()).rejects.toThrow(new OpaqueRouteRefusedError('connection to 10.96.0.10:80 refused: forbidden by policy'));
  });

  it("finds the profile route of a request by its path, from an absolute-form target and without the query too", async () => {
    const b = books();
    b.serve(undefined, withRoutes);
    const { up } = await upstream(await b.resolve());
    expect(up.profileRoute('GET', '/books/1?x=1')?.labels).toEqual({ rt_route: 'books' });
    expect(up.profileRoute('GET', `http://${b.fqn}/books/2`)?.labels).toEqual({ rt_route: 'books' });
    expect(up.profileRoute('GET', '/authors')).toBeUndefined();
  });

  it('stops watching the service once released: its Get and GetProfile streams close', async () => {
    const pod = await app('books');
    const b = books();
    b.serve(pod.port);
    const { up, port } = await upstream(await b.resolve());
    await send(port, '/');
    expect(stub.open(`${b.fqn}:80`)).toBe(1);
    up.release();
    await expect.poll(() => stub.open(`${b.fqn}:80`)).toBe(0);
  });
});
