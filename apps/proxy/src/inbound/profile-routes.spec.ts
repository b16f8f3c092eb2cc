import { createServer, request } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import { destination } from '@trellis/proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listenOn, sample } from '../../test/harness.ts';
import { startStubDiscovery, type StubDiscovery } from '../../test/stub-discovery.ts';
import { attachTarget } from '../http/connection.ts';
import { compose, forwardExchange, type HttpContext } from '../http/exchange.ts';
import { createH1Server } from '../http/h1.ts';
import { createPools } from '../http/pool.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { RouteMetricFamilies } from '../profiles/metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import { InboundProfiles, logicalName } from './profile-routes.ts';

const BOOKS = 'books.default.svc.cluster.local';
const cleanups: (() => unknown)[] = [];
/** Destination's stand-in and the proxy's discovery on it, with books' profile and a profile without routes. */
let sd: StubDiscovery;

beforeAll(async () => {
  sd = await startStubDiscovery(50);
  sd.stub.profiles.set(
    `${BOOKS}:8080`,
    destination.DestinationProfile.fromPartial({
      fullyQualifiedName: BOOKS,
      routes: [
        { metricsLabels: { route: 'GET /books/{id}' }, condition: { match: { $case: 'all', value: { matches: [{ match: { $case: 'method', value: { type: { $case: 'registered', value: 0 } } } }, { match: { $case: 'path', value: { regex: '/books/[^/]+' } } }] } } } },
        { metricsLabels: { route: 'POST /orders' }, condition: { match: { $case: 'path', value: { regex: '/orders(/.*)?' } } }, responseClasses: [{ condition: { match: { $case: 'status', value: { min: 404, max: 404 } } }, isFailure: true }] },
      ],
    }),
  );
  // A Service whose profile has no routes: nothing to count.
  sd.stub.profiles.set(`plain.default.svc.cluster.local:8080`, destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'plain.default.svc.cluster.local' }));
});

afterAll(() => sd.close());

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An inbound HTTP/1 front on the profile layer, forwarding to an app on loopback that answers 404 for /orders/missing. */
async function inbound(): Promise<{ port: number; families: RouteMetricFamilies; profiles: InboundProfiles }> {
  const app = createServer((req, res) => {
    res.statusCode = req.url === '/orders/missing' ? 404 : 200;
    res.end('ok');
  });
  const appPort = await listenOn(app);
  const metrics = new ProxyMetrics();
  const ctx: HttpContext = { metrics, respond: { direction: 'inbound', proxyName: 'p', informational: false, identify: true }, connectTimeoutMs: 1000 };
  const families = new RouteMetricFamilies();
  const profiles = new InboundProfiles(sd.discovery, families, { initialTimeoutMs: 2_000, idleTimeoutMs: 60_000 });
  const pools = createPools({ idleTimeoutMs: 0, maxIdle: 10, connectTimeoutMs: 1000 });
  const h1 = createH1Server({ ctx, pools, handler: compose(profiles.layer())(forwardExchange), headerReadTimeoutMs: 10_000, isDraining: () => false });
  const entry = new TargetCache(metrics, 'all-unauthenticated').get('inbound', '127.0.0.1', appPort, false);
  const accept: Server = createNetServer((socket) => {
    attachTarget(socket, entry);
    h1.emit('connection', socket);
  });
  const port = await listenOn(accept);
  cleanups.push(
    () => profiles.close(),
    () => pools.lean.destroy(),
    () => h1.closeAllConnections(),
    () => accept.close(),
    () => app.close(),
  );
  return { port, families, profiles };
}

function send(port: number, method: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const rendered = (f: RouteMetricFamilies) => f.all().map((x) => x.render()).join('');

describe('logicalName', () => {
  it('names a request host:port, lower-case, the connection port when the value has none; IP addresses are no name', () => {
    expect(logicalName('Books.Default.svc.cluster.local.:8080', 80)).toBe(`${BOOKS}:8080`);
    expect(logicalName(BOOKS, 8080)).toBe(`${BOOKS}:8080`);
    expect(logicalName('10.96.0.10:80', 80)).toBeUndefined();
    expect(logicalName('', 80)).toBeUndefined();
    expect(logicalName('bad host', 80)).toBeUndefined();
  });
});

describe('inbound profile routes', () => {
  it("counts requests under the route of their l5d-dst-canonical's profile, or of their Host's; unmatched ones under the default route", async () => {
    const { port, families } = await inbound();
    expect(await send(port, 'GET', '/books/1', { host: '10.244.0.9:8080', 'l5d-dst-canonical': `${BOOKS}:8080` })).toBe(200);
    expect(await send(port, 'GET', '/books/2', { host: `${BOOKS}:8080` })).toBe(200);
    expect(await send(port, 'POST', '/orders/missing', { host: `${BOOKS}:8080` })).toBe(404);
    expect(await send(port, 'GET', '/health', { host: `${BOOKS}:8080` })).toBe(200);
    const text = rendered(families);
    const dst = `direction="inbound",dst="${BOOKS}:8080"`;
    expect(sample(text, 'route_request_total', `{${dst},rt_route="GET /books/{id}"}`)).toBe(2);
    expect(sample(text, 'route_response_total', `{${dst},rt_route="GET /books/{id}",status_code="200",classification="success"}`)).toBe(2);
    expect(sample(text, 'route_response_latency_ms_count', `{${dst},rt_route="GET /books/{id}",status_code="200"}`)).toBe(2);
    // The route's response classes decide: its 404 is a failure.
    expect(sample(text, 'route_response_total', `{${dst},rt_route="POST /orders",status_code="404",classification="failure"}`)).toBe(1);
    expect(sample(text, 'route_request_total', `{${dst}}`)).toBe(1);
    expect(sample(text, 'route_response_total', `{${dst},status_code="200",classification="success"}`)).toBe(1);
  });

  it('watches each name once, and counts nothing for names without a profile with routes or without a profile lookup', async () => {
    const { port, families, profiles } = await inbound();
    const before = sd.stub.requests.filter((r) => r.method === 'getProfile' && r.path === `plain.default.svc.cluster.local:8080`).length;
    for (let i = 0; i < 5; i++) expect(await send(port, 'GET', '/books/1', { host: 'plain.default.svc.cluster.local:8080' })).toBe(200);
    expect(await send(port, 'GET', '/books/1', { host: 'missing.default.svc.cluster.local:8080' })).toBe(200);
    expect(await send(port, 'GET', '/books/1', { host: 'example.com' })).toBe(200);
    expect(await send(port, 'GET', '/books/1', { host: '10.244.0.9:8080' })).toBe(200);
    expect(sd.stub.requests.filter((r) => r.method === 'getProfile' && r.path === `plain.default.svc.cluster.local:8080`).length - before).toBe(1);
    expect(sd.stub.requests.some((r) => r.path.startsWith('example.com') || r.path.startsWith('10.244.0.9'))).toBe(false);
    // plain and missing are watched; example.com and the IP are not names with a profile.
    expect(profiles.size).toBe(2);
    expect(rendered(families)).not.toContain('route_request_total{');
  });

  it('drops a name no request used for a whole idle period, with its stream', async () => {
    const { port, profiles } = await inbound();
    expect(await send(port, 'GET', '/books/1', { host: `${BOOKS}:8080` })).toBe(200);
    expect(profiles.size).toBe(1);
    profiles.sweep();
    expect(profiles.size).toBe(1);
    profiles.sweep();
    expect(profiles.size).toBe(0);
  });
});
