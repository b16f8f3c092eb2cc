// The outbound side's accept stage in meshed mode (outbound.ts): each original destination resolved through
// discovery once, its connections handed to the target's route stage or, on an opaque port, spliced to a balanced
// endpoint; what discovery does not know goes to the original destination. Discovery is the proxy's own against
// the stub destination service (real gRPC); the endpoints are plaintext apps on loopback.
import { once } from 'node:events';
import { createServer as createHttpServer, request, type IncomingMessage } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { destination, tcpAddress } from '@trellis/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StubDestination } from '../../test/mesh-stub-destination.ts';
import { startStubDiscovery, type StubDiscovery } from '../../test/stub-discovery.ts';
import { parseProxyConfig } from '../config.ts';
import { OutboundResolver } from '../discovery/outbound.ts';
import { Drain } from '../drain.ts';
import type { Mesh } from '../identity/mesh.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TapRegistry } from '../tap/registry.ts';
import type { Destination } from '../tcp/accept.ts';
import { TargetCache } from '../tcp/targets.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';
import { createOutbound } from './outbound.ts';

// Every endpoint here is plaintext (no identity): the TLS part is never asked.
const noTls = undefined as unknown as MeshTls;
const IDLE_MS = 500;

let sd: StubDiscovery;
let stub: StubDestination;
let mesh: Mesh;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  sd = await startStubDiscovery(20);
  stub = sd.stub;
  const outbound = new OutboundResolver(sd.discovery, { tls: noTls, failfastMs: 300 });
  // What meshOutbound uses of a mesh: discovery (no policy controller), the endpoints' TLS and the idle timeout.
  mesh = { tls: noTls, discovery: sd.discovery, outbound, policy: undefined, endpointMetrics: undefined, outboundIdleMs: IDLE_MS } as unknown as Mesh;
});

afterAll(() => sd.close());

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** An app that answers `name <path>` and keeps the requests it saw. */
async function app(name: string): Promise<{ port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req);
    res.end(`${name} ${req.url ?? ''}`);
  });
  cleanups.push(() => server.closeAllConnections());
  return { port: await listen(server), seen };
}

/** A service of its own per test on `port`: GetProfile of ip:port names it, Get answers the endpoint on 127.0.0.1:`endpoint`. */
let services = 0;
function service(port: number, endpoint: number): { ip: string; fqn: string } {
  const n = ++services;
  const ip = `10.96.1.${n}`;
  const fqn = `svc-${n}.default.svc.cluster.local`;
  stub.profiles.set(`${ip}:${port}`, destination.DestinationProfile.fromPartial({ fullyQualifiedName: fqn }));
  stub.services.set(`${fqn}:${port}`, [destination.Update.fromPartial({ update: { $case: 'add', value: { metricLabels: { service: `svc-${n}` }, addrs: [{ addr: tcpAddress('127.0.0.1', endpoint), weight: 10000 }] } } })]);
  return { ip, fqn };
}

/** The outbound listener of a meshed proxy; `dst` is where its next connection "was going" (SO_ORIGINAL_DST). */
async function outboundFront(): Promise<{ port: number; dst: Destination }> {
  const metrics = new ProxyMetrics();
  const cfg = parseProxyConfig({ TRELLIS_PROXY_PLAINTEXT: 'true' });
  const shared = { metrics, targets: new TargetCache(metrics, 'all-unauthenticated'), drain: new Drain(), onRefused: () => undefined, taps: new TapRegistry() };
  const f = { port: 0, dst: { ip: '127.0.0.1', port: 1 } };
  const handler = createOutbound(cfg, shared, () => f.dst, mesh);
  const server = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => handler({ socket }));
  f.port = await listen(server);
  cleanups.push(() => shared.drain.start(0));
  return f;
}

/** One request on a connection of its own (closed after the response). */
function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: 'svc' }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const profileCalls = (ip: string, port: number) => stub.requests.filter((r) => r.method === 'getProfile' && r.path === `${ip}:${port}`).length;

describe('meshed outbound accept', () => {
  it("routes a known service's requests to its endpoint through the profile route stage, and sends an unknown address to its original destination", async () => {
    const books = await app('books');
    const direct = await app('direct');
    const s = service(80, books.port);
    const f = await outboundFront();
    f.dst = { ip: s.ip, port: 80 };
    expect(await get(f.port, '/books/1')).toBe('books /books/1');
    // The route stage names the service the profile resolved the request to.
    expect(books.seen[0]?.headers['l5d-dst-canonical']).toBe(`${s.fqn}:80`);
    // 127.0.0.1 is outside the profile networks: discovery is not asked, the connection goes where it was going.
    f.dst = { ip: '127.0.0.1', port: direct.port };
    expect(await get(f.port, '/d')).toBe('direct /d');
    expect(direct.seen[0]?.headers['l5d-dst-canonical']).toBeUndefined();
  });

  it('asks discovery once for all the connections to a target, releases its watches once no connection has used it for the idle timeout, and resolves it again on use', async () => {
    const books = await app('books');
    const s = service(80, books.port);
    const f = await outboundFront();
    f.dst = { ip: s.ip, port: 80 };
    expect(await Promise.all([get(f.port, '/a'), get(f.port, '/b')])).toEqual(['books /a', 'books /b']);
    expect(await get(f.port, '/c')).toBe('books /c');
    expect([profileCalls(s.ip, 80), stub.open(`${s.fqn}:80`)]).toEqual([1, 1]);
    // Every connection has closed: the target (its balancer and its discovery watches) goes after the idle timeout.
    await expect.poll(() => stub.open(`${s.fqn}:80`), { timeout: 5000 }).toBe(0);
    expect(await get(f.port, '/d')).toBe('books /d');
    expect(profileCalls(s.ip, 80)).toBe(2);
  });

  it("splices an opaque port's connection to the service's endpoint without detecting a protocol", async () => {
    const echo = createNetServer((socket) => {
      // A server-speaks-first protocol: the endpoint greets before the client sends anything.
      socket.write('hello ');
      socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`));
      socket.on('error', () => undefined);
      cleanups.push(() => socket.destroy());
    });
    const s = service(3306, await listen(echo));
    const f = await outboundFront();
    f.dst = { ip: s.ip, port: 3306 };
    const c = connect(f.port, '127.0.0.1');
    cleanups.push(() => c.destroy());
    c.setEncoding('utf8');
    let text = '';
    c.on('data', (d: string) => (text += d));
    await expect.poll(() => text, { timeout: 5000 }).toBe('hello ');
    c.write('ping');
    await expect.poll(() => text, { timeout: 5000 }).toBe('hello echo:ping');
  });
});
