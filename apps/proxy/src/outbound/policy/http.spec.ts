import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import { durationFromMillis, outbound, tcpAddress } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn } from '../../../test/harness.ts';
import type { Discovery } from '../../discovery/discovery.ts';
import { attachTarget } from '../../http/connection.ts';
import { forwardExchange, type ConnRouter, type HttpContext } from '../../http/exchange.ts';
import { createH1Server } from '../../http/h1.ts';
import { createPools } from '../../http/pool.ts';
import { ProxyMetrics } from '../../metrics/proxy-metrics.ts';
import { PolicyWatch } from '../../policy/policy-discovery.ts';
import { TargetCache } from '../../tcp/targets.ts';
import type { MeshTls } from '../../tls/mesh-tls.ts';
import { EndpointClient } from '../endpoint-client.ts';
import { forwardPolicy, type PolicyHttpOptions } from './http.ts';
import { PolicyTarget } from './target.ts';

// Forward backends name plaintext addresses: neither discovery nor the client's TLS is asked for anything here.
const noTls = undefined as unknown as MeshTls;
const noDiscovery = undefined as unknown as Discovery;
const quiet = { warn: () => undefined, debug: () => undefined };
const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const entry = new TargetCache(metrics, 'all-unauthenticated').get('outbound', '10.96.0.10', 80, false);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  cleanups.push(() => server.close());
  return listenOn(server);
}

/** An app server that answers `name <path>` (or as `handler` says) and keeps the requests it saw. */
async function app(name: string, handler?: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ port: number; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    if (handler) return handler(req, res, seen.length);
    res.end(`${name} ${req.url ?? ''}`);
  });
  cleanups.push(() => server.closeAllConnections());
  return { port: await listen(server), seen };
}

const meta = (kind: string, name: string) => ({ kind: { $case: 'resource' as const, value: { group: 'policy.linkerd.io', kind, name, namespace: 'default', section: '', port: 0 } } });

/** A backend that forwards to one plaintext address (the policy's `forward` kind). */
function forwardTo(port: number): outbound.Backend {
  return outbound.Backend.fromPartial({
    metadata: meta('Service', `app-${port}`),
    queue: { capacity: 100, failfastTimeout: durationFromMillis(3_000) },
    kind: { $case: 'forward', value: { addr: tcpAddress('127.0.0.1', port), weight: 1 } },
  });
}

const toOne = (port: number): outbound.HttpRoute_Distribution => outbound.HttpRoute_Distribution.fromPartial({ kind: { $case: 'firstAvailable', value: { backends: [{ backend: forwardTo(port) }] } } });

type Rule = NonNullable<Parameters<typeof outbound.HttpRoute.fromPartial>[0]['rules']>[number];

function httpPolicy(rules: Rule[]): outbound.OutboundPolicy {
  const http = { routes: [{ metadata: meta('HTTPRoute', 'books-route'), rules }] };
  return outbound.OutboundPolicy.fromPartial({
    metadata: meta('Service', 'books'),
    protocol: { kind: { $case: 'detect', value: { timeout: durationFromMillis(10_000), http1: http, http2: http, opaque: { routes: [] } } } },
  });
}

/**
 * An outbound HTTP/1 front for the target 10.96.0.10:80 whose requests take `policy` (forwardPolicy), sent on by
 * a real endpoint client. Answers its port.
 */
async function front(policy: outbound.OutboundPolicy, o: PolicyHttpOptions & { splitRandom?: () => number } = {}): Promise<number> {
  const lease = { value: new PolicyWatch<outbound.OutboundPolicy>('10.96.0.10:80'), release: () => undefined };
  const target = new PolicyTarget('10.96.0.10:80', policy, lease, noDiscovery, { tls: noTls, log: quiet, ...(o.splitRandom ? { random: o.splitRandom } : {}) });
  const client = new EndpointClient(noTls, () => false);
  const pools = createPools({ idleTimeoutMs: 0, maxIdle: 10, connectTimeoutMs: 1000 });
  const h1 = createH1Server({ ctx, pools, handler: forwardExchange, headerReadTimeoutMs: 10_000, isDraining: () => false });
  // The connection's router, as the outbound stack attaches a meshed target's: each request goes by the policy.
  const router: ConnRouter = {
    route: (ex) => {
      const d = ex.downstream();
      if (!d) throw new Error('a routed HTTP/1 request has a downstream');
      forwardPolicy(d, client, target, o);
    },
  };
  const accept = createNetServer((socket) => {
    attachTarget(socket, entry, router);
    h1.emit('connection', socket);
  });
  cleanups.push(
    () => target.release(),
    () => client.close(),
    () => pools.lean.destroy(),
    () => h1.closeAllConnections(),
  );
  return listen(accept);
}

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function send(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: 'books.default.svc.cluster.local', ...headers }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const prefix = (value: string) => ({ path: { kind: { $case: 'prefix' as const, value } } });
const header = (name: string, value: string) => ({ headers: [{ name, value: Buffer.from(value) }] });

describe('a request routed by its OutboundPolicy', () => {
  it("goes to the backend of the most specific matching rule, with that rule's request and response header changes", async () => {
    const api = await app('api', (req, res) => res.end(`api saw x-route=${String(req.headers['x-route'])} x-gone=${String(req.headers['x-gone'])}`));
    const rest = await app('rest');
    const port = await front(
      httpPolicy([
        { matches: [prefix('/')], backends: toOne(rest.port) },
        {
          matches: [prefix('/api')],
          filters: [
            { kind: { $case: 'requestHeaderModifier', value: { set: header('x-route', 'api'), remove: ['x-gone'] } } },
            { kind: { $case: 'responseHeaderModifier', value: { add: header('x-served-by', 'api-rule') } } },
          ],
          backends: toOne(api.port),
        },
      ]),
    );
    const a = await send(port, '/api/books', { 'x-gone': 'bye' });
    expect([a.status, a.body, a.headers['x-served-by']]).toEqual([200, 'api saw x-route=api x-gone=undefined', 'api-rule']);
    const r = await send(port, '/authors');
    expect([r.status, r.body, r.headers['x-served-by']]).toEqual([200, 'rest /authors', undefined]);
    expect([api.seen.length, rest.seen.length]).toEqual([1, 1]);
  });

  it('answers 404 with l5d-proxy-error when no rule matches, and sends nothing', async () => {
    const api = await app('api');
    const port = await front(httpPolicy([{ matches: [prefix('/api')], backends: toOne(api.port) }]));
    const r = await send(port, '/other');
    expect([r.status, r.headers['l5d-proxy-error']]).toEqual([404, 'no route found for request']);
    expect(api.seen).toHaveLength(0);
  });

  it("answers a failure injector's status and message for its ratio of requests, the rest reaching the backend", async () => {
    const api = await app('api');
    let next = 0.9;
    const port = await front(
      httpPolicy([{ filters: [{ kind: { $case: 'failureInjector', value: { status: 503, message: 'down for maintenance', ratio: { numerator: 1, denominator: 2 } } } }], backends: toOne(api.port) }]),
      { random: () => next },
    );
    const passed = await send(port, '/a');
    next = 0.1;
    const failed = await send(port, '/b');
    expect([passed.status, passed.body]).toEqual([200, 'api /a']);
    expect([failed.status, failed.headers['l5d-proxy-error']]).toEqual([503, 'down for maintenance']);
    expect(api.seen.map((r) => r.url)).toEqual(['/a']);
  });

  it('redirects with the filter\'s status and Location, keeping the path and query', async () => {
    const port = await front(httpPolicy([{ filters: [{ kind: { $case: 'redirect', value: { host: 'elsewhere.example', status: 301 } } }] }]));
    const r = await send(port, '/moved?q=1');
    expect([r.status, r.headers['location']]).toEqual([301, 'http://elsewhere.example/moved?q=1']);
  });

  it('answers 500 naming the route when the matching rule has no backends', async () => {
    const port = await front(httpPolicy([{ backends: { kind: { $case: 'empty', value: {} } } }]));
    const r = await send(port, '/');
    expect([r.status, r.headers['l5d-proxy-error']]).toEqual([500, 'route books-route has no backends']);
  });

  it('answers 504 when the route request timeout fires before the backend answers', async () => {
    const slow = await app('slow', () => undefined);
    const port = await front(httpPolicy([{ timeouts: { request: durationFromMillis(200) }, backends: toOne(slow.port) }]));
    const started = performance.now();
    const r = await send(port, '/');
    expect([r.status, r.headers['l5d-proxy-error']]).toEqual([504, 'request timed out after 200ms']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("retries an answer whose status the route's retry conditions name, and answers the last attempt when retries run out", async () => {
    const flaky = await app('flaky', (req, res, n) => {
      res.statusCode = req.url === '/always' || n === 1 ? 503 : 200;
      res.end(`attempt ${n}`);
    });
    const retry = { maxRetries: 2, conditions: { statusRanges: [{ start: 500, end: 599 }] }, backoff: { minBackoff: durationFromMillis(1), maxBackoff: durationFromMillis(1), jitterRatio: 0 } };
    const port = await front(httpPolicy([{ retry, backends: toOne(flaky.port) }]));
    const recovered = await send(port, '/once');
    expect([recovered.status, recovered.body]).toEqual([200, 'attempt 2']);
    const given = await send(port, '/always');
    expect([given.status, given.body]).toEqual([503, 'attempt 5']);
    expect(flaky.seen.map((r) => r.url)).toEqual(['/once', '/once', '/always', '/always', '/always']);
  });

  it('answers 502 naming the address when the backend refuses the connection', async () => {
    const gone = createNetServer();
    const closedPort = await listen(gone);
    await new Promise((r) => gone.close(r));
    const port = await front(httpPolicy([{ backends: toOne(closedPort) }]));
    const r = await send(port, '/');
    expect(r.status).toBe(502);
    expect(String(r.headers['l5d-proxy-error'])).toContain(`127.0.0.1:${closedPort}`);
  });

  it("splits requests over a random_available distribution's backends by weight", async () => {
    const light = await app('light');
    const heavy = await app('heavy');
    const draws = [0.1, 0.5, 0.9, 0.3];
    const port = await front(
      httpPolicy([
        {
          backends: {
            kind: { $case: 'randomAvailable', value: { backends: [{ backend: { backend: forwardTo(light.port) }, weight: 1 }, { backend: { backend: forwardTo(heavy.port) }, weight: 3 }] } },
          },
        },
      ]),
      { splitRandom: () => draws.shift() ?? 0 },
    );
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await send(port, `/${i}`)).body);
    expect(bodies).toEqual(['light /0', 'heavy /1', 'heavy /2', 'heavy /3']);
  });
});
