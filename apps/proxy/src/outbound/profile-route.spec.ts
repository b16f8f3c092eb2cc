import { createServer as createH2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { destination, durationFromMillis } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../discovery/endpoints.ts';
import type { MeshEndpoint } from '../discovery/outbound.ts';
import type { ProxyError } from '../errors.ts';
import { Exchange, type Downstream, type Headers, type HttpContext, type RequestHead } from '../http/exchange.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { RetryBudget } from '../profiles/budget.ts';
import { RouteMetricFamilies } from '../profiles/metrics.ts';
import { compileProfile, DEFAULT_BUDGET, routeFor } from '../profiles/routes.ts';
import { TargetCache } from '../tcp/targets.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';
import { EndpointClient } from './endpoint-client.ts';
import { routeByProfile, type ProfileTarget } from './profile-route.ts';

const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const targets = new TargetCache(metrics, 'all-unauthenticated');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class TestExchange extends Exchange {
  failed: ProxyError | undefined;
  constructor() {
    super(targets.get('outbound', '10.0.0.1', 80, false), true, ctx);
  }
  forward(): void {
    // routed by the stage under test
  }
  downstream(): undefined {
    return undefined;
  }
  requestHead(): RequestHead {
    throw new Error('not read');
  }
  protected respondError(err: ProxyError): void {
    this.failed = err;
    this.status = err.httpStatus;
  }
}

/** A gRPC client's side of one request: what the stage answered, once the exchange finished. */
function call(path: string) {
  const ex = new TestExchange();
  const sink = new PassThrough();
  let body = '';
  sink.on('data', (c: Buffer) => (body += c.toString()));
  const d = {
    ex,
    method: 'POST',
    target: path,
    path,
    authority: 'books.default.svc.cluster.local:80',
    scheme: 'http',
    h1: undefined,
    headers: { 'content-type': 'application/grpc' } as Headers,
    body: undefined,
    declaredLength: undefined,
    headersSent: false,
    head: (_s: number, _h: Headers, end: boolean) => (end ? undefined : sink),
    end: () => undefined,
    abort: () => undefined,
    onGone: () => undefined,
  } as unknown as Downstream;
  const done = new Promise<{ status: number; grpc: number; body: string; failed: ProxyError | undefined }>((resolve) => ex.onFinish(() => setImmediate(() => resolve({ status: ex.status, grpc: ex.grpcStatus, body, failed: ex.failed }))));
  return { d, done };
}

async function target(answer: (n: number) => { status: string; grpc: string } | 'never') {
  let calls = 0;
  const server = createH2Server();
  server.on('stream', (stream) => {
    const a = answer(calls++);
    if (a === 'never') return;
    stream.respond({ ':status': a.status, 'grpc-status': a.grpc }, { endStream: true });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const port = (server.address() as AddressInfo).port;
  const e = { addr: `127.0.0.1:${port}`, ip: '127.0.0.1', port, identity: undefined } as Endpoint;
  const me: MeshEndpoint = { endpoint: e, h2: undefined };
  // Plaintext endpoint: the client's TLS part is never asked for a connection.
  const client = new EndpointClient(undefined as unknown as MeshTls, () => false);
  cleanups.push(() => client.close());
  const profile = compileProfile(
    destination.DestinationProfile.fromPartial({
      fullyQualifiedName: 'books.default.svc.cluster.local',
      routes: [
        { metricsLabels: { route: 'Flaky' }, condition: { match: { $case: 'path', value: { regex: '/books.Books/Flaky' } } }, isRetryable: true },
        { metricsLabels: { route: 'Slow' }, condition: { match: { $case: 'path', value: { regex: '/books.Books/Slow' } } }, timeout: durationFromMillis(100) },
      ],
    }),
  );
  const families = new RouteMetricFamilies();
  const budget = new RetryBudget(DEFAULT_BUDGET);
  const t: ProfileTarget = {
    client,
    profileRoute: (method, path) => routeFor(profile, { method, path }),
    series: (route) => families.route('outbound', 'books.default.svc.cluster.local:80', route?.labels ?? {}),
    budget: () => budget,
    pick: async () => ({ me, firstByte: () => undefined, done: () => undefined }),
  };
  return { t, families, calls: () => calls };
}

describe('the ServiceProfile route stage', () => {
  it('retries a failed answer on a retryable route within the budget and relays the last one, counting route and actual requests', async () => {
    const { t, families, calls } = await target((n) => (n === 0 ? { status: '200', grpc: '14' } : { status: '200', grpc: '0' }));
    const { d, done } = call('/books.Books/Flaky');
    routeByProfile(d, t);
    expect(await done).toMatchObject({ status: 200, grpc: 0, failed: undefined });
    expect(calls()).toBe(2);
    const text = families.all().map((f) => f.render()).join('');
    expect(text).toMatch(/route_request_total\{[^}]*rt_route="Flaky"\} 1/);
    expect(text).toMatch(/route_actual_request_total\{[^}]*rt_route="Flaky"\} 2/);
    expect(text).toMatch(/route_retryable_total\{[^}]*rt_route="Flaky",retry="true"\} 1/);
  });

  it('answers 504 when the route timeout fires before a response head, and sends once on a route without retries', async () => {
    const slow = await target(() => 'never');
    const s = call('/books.Books/Slow');
    const started = performance.now();
    routeByProfile(s.d, slow.t);
    const r = await s.done;
    expect([r.status, r.failed?.code, performance.now() - started < 1_000]).toEqual([504, 'TRELLIS_ERR_ROUTE_TIMEOUT', true]);
    const once = await target(() => ({ status: '200', grpc: '14' }));
    const o = call('/books.Books/Other');
    routeByProfile(o.d, once.t);
    expect(await o.done).toMatchObject({ status: 200, grpc: 14 });
    expect(once.calls()).toBe(1);
  });
});
