// The mesh path assembled from the mesh modules, against a stub destination (mesh-stub-destination.ts) and
// two peer "inbound proxies" built from the TLS layer: profile → dst_overrides split → Get → P2C → pooled
// mTLS HTTP/2 with l5d-orig-proto → peer terminates, checks the client identity, sets l5d-client-id, downgrades.
import { createServer as h2Server, type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect, createServer, type AddressInfo, type Server } from 'node:net';
import { parseCidrList } from '@trellis/config';
import { destination, tcpAddress } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailFastError } from '../src/balance/errors.ts';
import { RetryBudget } from '../src/profiles/budget.ts';
import { RouteMetricFamilies } from '../src/profiles/metrics.ts';
import { RouteTimeoutError, sendWithRetries, withRouteTimeout } from '../src/profiles/retry.ts';
import { routeFor } from '../src/profiles/routes.ts';
import { Discovery } from '../src/discovery/discovery.ts';
import { destinationClients } from '../src/discovery/grpc-destination.ts';
import { OutboundResolver, openOpaque, pickBackend, type LogicalTarget, type MeshEndpoint, type Resolution } from '../src/discovery/outbound.ts';
import type { Credentials } from '../src/identity/credentials.ts';
import { controlAddr } from '../src/identity/env.ts';
import { applyClientId } from '../src/tls/client-id.ts';
import { toEndpoint } from '../src/discovery/endpoints.ts';
import { acceptInboundTls } from '../src/tls/inbound.ts';
import { readDirectHeader, TRANSPORT_HEADER_ALPN } from '../src/tls/transport.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { parseOrigProto } from '../src/tls/orig-proto.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, startStubDestination, type StubDestination } from './mesh-stub-destination.ts';

const CLIENT = 'web.default.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';
const V1 = 'books-v1.default.svc.cluster.local:80';
const V2 = 'books-v2.default.svc.cluster.local:80';

class Source {
  creds: Credentials | undefined;
  current() {
    return this.creds;
  }
}

interface Peer {
  readonly name: string;
  readonly port: number;
  requests: number;
  handshakes: number;
  readonly seen: IncomingHttpHeaders[];
  readonly net: Server;
  readonly h2: Http2Server;
}

let pki: MeshPki;
let stub: StubDestination;
let discovery: Discovery;
let resolver: OutboundResolver;
let closeClients: () => void;
const clientSource = new Source();
const serverSource = new Source();
const serverTls = new MeshTls(serverSource);
const peers: Peer[] = [];

async function startPeer(name: string, delayMs = 0, failRatio = 0): Promise<Peer> {
  let served = 0;
  const h2 = h2Server();
  const peer = { name, requests: 0, handshakes: 0, seen: [], h2 } as unknown as Peer;
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    acceptInboundTls(socket, serverTls, 2_000, {
      meshed: (tls, clientId) => {
        peer.handshakes++;
        // What the inbound HTTP layer does per request: trust only the verified id, then downgrade.
        tls.on('error', () => undefined);
        (tls as unknown as { clientId: string }).clientId = clientId;
        h2.emit('connection', tls);
      },
      passthrough: (s) => s.destroy(),
      plaintext: (s) => s.destroy(),
      failed: () => undefined,
    });
  });
  h2.on('stream', (stream, headers) => {
    const h = { ...headers } as Record<string, string | string[] | undefined>;
    applyClientId(h, (stream.session?.socket as unknown as { clientId?: string }).clientId);
    const orig = parseOrigProto(headers['l5d-orig-proto']);
    peer.requests++;
    peer.seen.push(h as IncomingHttpHeaders);
    // Deterministic failures: every n-th request of a failing peer answers 500.
    const fail = failRatio > 0 && served++ % Math.round(1 / failRatio) === 0;
    setTimeout(() => {
      if (stream.destroyed) return;
      stream.respond({ ':status': fail ? 500 : 200, 'x-peer': name, ...(orig ? { 'l5d-orig-proto': `HTTP/${orig.httpVersion}` } : {}) });
      stream.end(fail ? 'boom' : 'ok');
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(peer, { net: server, port: (server.address() as AddressInfo).port });
  peers.push(peer);
  return peer;
}

/** A meshed endpoint as destination describes it: identity, h2 hint. */
const meshedAddr = (port: number, weight = 10000) => ({
  addr: tcpAddress('127.0.0.1', port),
  weight,
  tlsIdentity: { strategy: { $case: 'dnsLikeIdentity' as const, value: { name: BOOKS } } },
  protocolHint: { protocol: { $case: 'h2' as const, value: {} } },
});
const endpointUpdate = (...addrs: ReturnType<typeof meshedAddr>[]) =>
  destination.Update.fromPartial({ update: { $case: 'add', value: { metricLabels: { namespace: 'default', service: 'books' }, addrs } } });

beforeAll(async () => {
  pki = await createMeshPki();
  clientSource.creds = await pki.issue(CLIENT);
  serverSource.creds = await pki.issue(BOOKS);
  stub = await startStubDestination(pki);
  const config = {
    svcAddr: { ...controlAddr('X', stub.addr), loopback: false },
    svcName: DESTINATION_SVC_NAME,
    contextToken: '{"ns":"default","pod":"web-0"}',
    profileNetworks: parseCidrList('X', '10.0.0.0/8'),
    profileSuffixes: ['svc.cluster.local.'],
    streamInitialTimeoutMs: 3_000,
    streamIdleTimeoutMs: 300_000,
    streamLifetimeMs: 3_600_000,
    idleTimeoutMs: 5_000,
    profileInitialTimeoutMs: 500,
  };
  const clients = destinationClients(config, pki.trustAnchorsPem, clientSource);
  closeClients = clients.close;
  discovery = new Discovery(config, clients.get, { debug: () => undefined, info: () => undefined, warn: () => undefined });
  resolver = new OutboundResolver(discovery, { tls: new MeshTls(clientSource) });
});
afterAll(async () => {
  discovery.close();
  closeClients();
  await stub.close();
  for (const p of peers) {
    p.net.close();
    p.h2.close();
  }
});

/** An app's HTTP/1.1 GET as a client proxy upgrades it (l5d-orig-proto, its Host kept beside :authority). */
function upgraded(path: string, host: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ':method': 'GET', ':scheme': 'http', ':path': path, ':authority': host, host, ...extra, 'l5d-orig-proto': 'HTTP/1.1' };
}

function logicalOf(r: Resolution): LogicalTarget {
  if (r.kind !== 'logical') throw new Error(`expected a logical target, got ${r.kind}`);
  return r.target;
}

/** One HTTP/1.1 request from the app, upgraded and sent through the mesh; resolves with the status (0: error). */
async function send(r: LogicalTarget): Promise<{ status: number; peer: string; origProto: string }> {
  const backend = pickBackend(r.split);
  if (!backend) throw new Error('no backend');
  const picked = await backend.balancer.acquire();
  let ok = false;
  try {
    const h2 = (picked.endpoint as MeshEndpoint).h2;
    if (!h2) throw new Error('endpoint has no HTTP/2 client');
    const session: ClientHttp2Session = await h2.session();
    const headers = upgraded('/books/1', 'books.default.svc.cluster.local', { 'l5d-client-id': 'spoofed' });
    const res = await new Promise<{ status: number; peer: string; origProto: string }>((resolve, reject) => {
      const req = session.request(headers);
      let out = { status: 0, peer: '', origProto: '' };
      req.on('response', (h) => (out = { status: Number(h[':status']), peer: String(h['x-peer']), origProto: String(h['l5d-orig-proto']) }));
      req.once('data', picked.firstByte);
      req.on('end', () => resolve(out));
      req.on('error', reject);
      req.resume();
    });
    ok = res.status === 200;
    return res;
  } finally {
    picked.done(ok);
  }
}

async function run(r: LogicalTarget, total: number, concurrency: number, each?: (i: number) => void) {
  let next = 0;
  let failed = 0;
  const perPeer = new Map<string, number>();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        each?.(i);
        const res = await send(r).catch(() => ({ status: 0, peer: '', origProto: '' }));
        if (res.status !== 200) failed++;
        else perPeer.set(res.peer, (perPeer.get(res.peer) ?? 0) + 1);
      }
    }),
  );
  return { failed, perPeer };
}

/** A profile-routed request: route match, retries within the budget, the route timeout, route metrics. */
async function sendRouted(target: LogicalTarget, budget: RetryBudget, metrics: RouteMetricFamilies, path: string): Promise<number> {
  const route = routeFor(target.profile, { method: 'GET', path });
  const series = metrics.route('outbound', target.logical, route?.labels ?? {});
  series.requests.inc();
  const started = performance.now();
  const streams: { close(): void }[] = [];
  const work = sendWithRetries<null>({
    route,
    budget,
    replayable: true, // a GET without a body
    send: async () => {
      const backend = pickBackend(target.split);
      if (!backend) throw new Error('no backend');
      const picked = await backend.balancer.acquire();
      const h2 = (picked.endpoint as MeshEndpoint).h2;
      if (!h2) throw new Error('endpoint has no HTTP/2 client');
      const session = await h2.session();
      series.actualRequests?.inc();
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request(upgraded(path, target.logical));
        streams.push(req);
        let st = 0;
        req.on('response', (h) => (st = Number(h[':status'])));
        req.once('data', picked.firstByte);
        req.on('end', () => resolve(st));
        req.on('close', () => resolve(st));
        req.on('error', reject);
        req.resume();
      });
      picked.done(status < 500);
      return { status, response: null };
    },
    discard: () => undefined,
  });
  const r = await withRouteTimeout(route, work, () => {
    for (const s of streams) s.close();
  });
  const failure = route ? route.isFailure(r.status, undefined) : r.status >= 500;
  const rs = series.response(r.status, failure);
  rs.total.inc();
  rs.latency.observe(performance.now() - started);
  return r.status;
}

describe('the outbound mesh path', () => {
  it('splits 90/10 by dst_overrides within ±3% over 2,000 requests, over mTLS with the verified client id', async () => {
    const v1 = await startPeer('v1');
    const v2 = await startPeer('v2');
    stub.services.set(V1, [endpointUpdate(meshedAddr(v1.port))]);
    stub.services.set(V2, [endpointUpdate(meshedAddr(v2.port))]);
    stub.profiles.set('10.96.0.10:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local', dstOverrides: [{ authority: V1, weight: 9000 }, { authority: V2, weight: 1000 }] }));
    const r = await resolver.resolve('10.96.0.10', 80);
    expect(r.kind).toBe('logical');
    const logical = logicalOf(r);
    await expect.poll(() => logical.split.backends.every((b) => b.backend.ready)).toBe(true);
    const { failed, perPeer } = await run(logical, 2_000, 16);
    expect(failed).toBe(0);
    expect(Math.abs((perPeer.get('v1') ?? 0) / 2_000 - 0.9)).toBeLessThanOrEqual(0.03);
    // One handshake per peer, the client's verified identity replaced the spoofed header, and orig-proto rode along.
    expect([v1.handshakes, v2.handshakes]).toEqual([1, 1]);
    expect(v1.seen[0]?.['l5d-client-id']).toBe(CLIENT);
    expect(v1.seen[0]?.['l5d-orig-proto']).toBe('HTTP/1.1');
    // A new profile moves all traffic to v2 without a new resolution.
    stub.pushProfile('10.96.0.10:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local', dstOverrides: [{ authority: V2, weight: 1 }] }));
    await expect.poll(() => logical.split.backends.map((b) => b.backend.authority)).toEqual([V2]);
    const after = await run(logical, 50, 4);
    expect(after.perPeer.get('v2')).toBe(50);
    logical.release();
  });

  it('loses no request when an endpoint is removed mid-load', async () => {
    const a = await startPeer('a', 2);
    const b = await startPeer('b', 2);
    const svc = 'shelf.default.svc.cluster.local:80';
    stub.services.set(svc, [endpointUpdate(meshedAddr(a.port), meshedAddr(b.port))]);
    stub.profiles.set('10.96.0.20:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'shelf.default.svc.cluster.local' }));
    const r = logicalOf(await resolver.resolve('10.96.0.20', 80));
    await expect.poll(() => r.split.backends[0]?.backend.balancer.size).toBe(2);
    const { failed, perPeer } = await run(r, 600, 12, (i) => {
      if (i === 300) stub.push(svc, destination.Update.fromPartial({ update: { $case: 'remove', value: { addrs: [tcpAddress('127.0.0.1', b.port)] } } }));
    });
    expect(failed).toBe(0);
    expect((perPeer.get('a') ?? 0) + (perPeer.get('b') ?? 0)).toBe(600);
    expect(r.split.backends[0]?.backend.balancer.size).toBe(1);
    r.release();
  });

  it('retries a retryable route failing 30% of requests within the budget, counting route metrics', async () => {
    const flaky = await startPeer('flaky', 0, 0.3);
    const svc = 'flaky.default.svc.cluster.local:80';
    stub.services.set(svc, [endpointUpdate(meshedAddr(flaky.port))]);
    stub.profiles.set(
      '10.96.0.50:80',
      destination.DestinationProfile.fromPartial({
        fullyQualifiedName: 'flaky.default.svc.cluster.local',
        routes: [{ metricsLabels: { route: 'GET /items' }, condition: { match: { $case: 'path', value: { regex: '/items.*' } } }, isRetryable: true }],
        retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 10, ttl: { seconds: 10n, nanos: 0 } },
      }),
    );
    const r = logicalOf(await resolver.resolve('10.96.0.50', 80));
    await expect.poll(() => r.split.backends[0]?.backend.ready).toBe(true);
    const budget = new RetryBudget(r.profile.budget);
    const metrics = new RouteMetricFamilies();
    let ok = 0;
    for (let i = 0; i < 200; i++) if ((await sendRouted(r, budget, metrics, '/items/1')) === 200) ok++;
    // Sequential requests: every failed first attempt is retried (the 10/s reserve covers them) and succeeds.
    expect(ok).toBe(200);
    const sent = flaky.requests;
    expect(sent - 200).toBeLessThanOrEqual(0.2 * 200 + 100);
    const text = metrics.all().map((f) => f.render()).join('');
    expect(text).toContain('route_request_total{direction="outbound",dst="flaky.default.svc.cluster.local:80",rt_route="GET /items"} 200');
    expect(text).toContain(`route_actual_request_total{direction="outbound",dst="flaky.default.svc.cluster.local:80",rt_route="GET /items"} ${sent}`);
    r.release();
  });

  it('ends a request with 504 when the route timeout fires', async () => {
    const slow = await startPeer('slow', 1_000);
    const svc = 'slow.default.svc.cluster.local:80';
    stub.services.set(svc, [endpointUpdate(meshedAddr(slow.port))]);
    stub.profiles.set(
      '10.96.0.60:80',
      destination.DestinationProfile.fromPartial({
        fullyQualifiedName: 'slow.default.svc.cluster.local',
        routes: [{ metricsLabels: { route: 'slow' }, condition: { match: { $case: 'path', value: { regex: '/.*' } } }, timeout: { seconds: 0n, nanos: 200_000_000 } }],
      }),
    );
    const r = logicalOf(await resolver.resolve('10.96.0.60', 80));
    await expect.poll(() => r.split.backends[0]?.backend.ready).toBe(true);
    const started = performance.now();
    const err = await sendRouted(r, new RetryBudget(r.profile.budget), new RouteMetricFamilies(), '/x').catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(RouteTimeoutError);
    expect((err as RouteTimeoutError).httpStatus).toBe(504);
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(900);
    r.release();
  });

  it('sends opaque traffic to the peer inbound port with the transport header naming the real port', async () => {
    // The app behind the peer: an echo server on the "real" port.
    const app = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const appPort = (app.address() as AddressInfo).port;
    const headers: unknown[] = [];
    // The peer's direct (inbound) port: mTLS + ALPN transport.l5d.io/v1 + header, then forward to the app.
    const direct = createServer((socket) =>
      acceptInboundTls(
        socket,
        serverTls,
        1_000,
        {
          meshed: (tls, clientId) => {
            void readDirectHeader({ socket: tls, clientId, alpn: tls.alpnProtocol ?? false }, 1_000).then((h) => {
              headers.push(h);
              const upstream = netConnect(h.port, '127.0.0.1');
              tls.pipe(upstream).pipe(tls);
              tls.resume();
            }, () => tls.destroy());
          },
          passthrough: (s) => s.destroy(),
          plaintext: (s) => s.destroy(),
          failed: () => undefined,
        },
        [TRANSPORT_HEADER_ALPN],
      ),
    );
    await new Promise<void>((r) => direct.listen(0, '127.0.0.1', r));
    const directPort = (direct.address() as AddressInfo).port;
    const e = toEndpoint(
      destination.WeightedAddr.fromPartial({
        addr: tcpAddress('127.0.0.1', appPort),
        weight: 10000,
        tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } },
        protocolHint: { protocol: { $case: 'opaque', value: {} }, opaqueTransport: { inboundPort: directPort } },
      }),
      {},
    );
    if (!e) throw new Error('endpoint');
    const stream = await openOpaque(e, new MeshTls(clientSource));
    const echoed = new Promise<string>((resolve) => stream.once('data', (d: Buffer) => resolve(d.toString())));
    stream.write('SELECT 1;');
    expect(await echoed).toBe('SELECT 1;');
    expect(headers).toEqual([{ port: appPort, name: '', sessionProtocol: undefined }]);
    stream.destroy();
    direct.close();
    app.close();
  });

  it('answers 504 after the 3 s failfast when the service has no endpoints', async () => {
    const svc = 'empty.default.svc.cluster.local:80';
    stub.services.set(svc, []);
    stub.profiles.set('10.96.0.30:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'empty.default.svc.cluster.local' }));
    const r = logicalOf(await resolver.resolve('10.96.0.30', 80));
    const started = performance.now();
    const err = await pickBackend(r.split)?.balancer.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailFastError);
    expect((err as FailFastError).httpStatus).toBe(504);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2_990);
    r.release();
  });

  it('forwards to the original destination when discovery has no profile or the IP is outside the networks', async () => {
    expect((await resolver.resolve('10.1.2.3', 80)).kind).toBe('forward');
    expect((await resolver.resolve('192.0.2.1', 80)).kind).toBe('forward');
  });

  it('keeps serving with zero failures while both sides renew short-lived certificates and new connections handshake', async () => {
    const p = await startPeer('renew', 1);
    const svc = 'renew.default.svc.cluster.local:80';
    stub.services.set(svc, [endpointUpdate(meshedAddr(p.port))]);
    stub.profiles.set('10.96.0.40:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'renew.default.svc.cluster.local' }));
    const r = logicalOf(await resolver.resolve('10.96.0.40', 80));
    await expect.poll(() => r.split.backends[0]?.backend.ready).toBe(true);
    const generations = new Set<number>();
    let renewing = true;
    const renew = (async () => {
      while (renewing) {
        // Short-lived certificates replaced every few requests; a re-announced endpoint forces a new handshake.
        clientSource.creds = await pki.issue(CLIENT, { lifetimeMs: 5_000 });
        serverSource.creds = await pki.issue(BOOKS, { lifetimeMs: 5_000 });
        generations.add(clientSource.creds.generation);
        stub.push(svc, endpointUpdate(meshedAddr(p.port, 10000 + generations.size)));
        await new Promise((res) => setTimeout(res, 40));
      }
    })();
    const { failed } = await run(r, 300, 8);
    renewing = false;
    await renew;
    expect(failed).toBe(0);
    expect(generations.size).toBeGreaterThan(2);
    expect(p.handshakes).toBeGreaterThan(2);
    r.release();
  });
});
