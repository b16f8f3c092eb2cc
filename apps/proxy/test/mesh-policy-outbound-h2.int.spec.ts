// Policy routing beyond plain HTTP/1 endpoints: gRPC routes (failure injector as grpc-status, retries on gRPC
// codes) over HTTP/2, a meshed peer reached over mTLS HTTP/2 with l5d-orig-proto, failfast and load shedding of
// a backend without endpoints, per-try timeouts, and the l5d-retry-*/l5d-timeout headers a route allows.
import { constants as h2constants, connect as h2connect, createServer as h2CreateServer, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { destination, durationFromMillis, outbound, tcpAddress } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn, sample } from './harness.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { app, authority, backend, cleanups, endpoints, httpPolicy, meshed, send, service, TARGET, toOne } from './mesh-policy-harness.ts';

const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface GrpcReply {
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  readonly body: string;
}

function grpcCall(session: ClientHttp2Session, path: string): Promise<GrpcReply> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': path, ':authority': 'books.default.svc.cluster.local', 'content-type': 'application/grpc', te: 'trailers' });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    let body = '';
    s.on('response', (h) => (headers = h));
    s.on('trailers', (t) => (trailers = t));
    s.on('data', (d: Buffer) => (body += d.toString()));
    s.on('end', () => resolve({ headers, trailers, body }));
    s.on('error', reject);
    s.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

const grpcPolicy = (rules: NonNullable<Parameters<typeof outbound.GrpcRoute.fromPartial>[0]['rules']>) =>
  outbound.OutboundPolicy.fromPartial({
    metadata: service('books'),
    protocol: { kind: { $case: 'grpc', value: { routes: [{ metadata: { kind: { $case: 'resource', value: { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', name: 'books-grpc', namespace: 'default' } } }, rules }] } } },
  });

describe('outbound policy routing over HTTP/2 and meshed peers', () => {
  it('answers a gRPC failure injector with grpc-status, and retries a gRPC route on UNAVAILABLE', async () => {
    const { proxy, dst, policy } = await meshed();
    let calls = 0;
    const server = h2CreateServer();
    server.on('stream', (stream) => {
      calls++;
      stream.on('data', () => undefined);
      // Every other call is UNAVAILABLE, trailers-only.
      if (calls % 2 === 1) return stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' }, { endStream: true });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end('reply');
    });
    const port = await listenOn(server);
    cleanups.push(() => server.close());
    endpoints(dst, 'books-v1', port);
    const grpcOne = { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend: backend('books-v1') }] } } };
    policy.answers.set(
      TARGET,
      grpcPolicy([
        { matches: [{ rpc: { service: 'books.Books', method: 'Broken' } }], filters: [{ kind: { $case: 'failureInjector', value: { code: 14, message: 'down for maintenance' } } }], backends: grpcOne },
        { matches: [{ rpc: { service: 'books.Books' } }], backends: grpcOne, retry: { maxRetries: 1, conditions: { unavailable: true }, backoff: { minBackoff: durationFromMillis(1), maxBackoff: durationFromMillis(2) } } },
      ]),
    );
    const session = h2connect(`http://127.0.0.1:${proxy.outboundPort}`);
    cleanups.push(() => session.close());
    const broken = await grpcCall(session, '/books.Books/Broken');
    expect(broken.headers[':status']).toBe(200);
    expect(broken.headers['grpc-status']).toBe('14');
    expect(broken.headers['grpc-message']).toBe('down for maintenance');
    expect(calls).toBe(0);
    for (let i = 0; i < 4; i++) {
      const ok = await grpcCall(session, '/books.Books/Get');
      expect(ok.trailers['grpc-status']).toBe('0');
      expect(ok.body).toBe('reply');
    }
    expect(calls).toBe(8);
    // Another service has no route: 404 as NOT_FOUND.
    expect((await grpcCall(session, '/other.Svc/Get')).headers['grpc-status']).toBe('5');
    const text = await proxy.metrics();
    expect(sample(text, 'outbound_grpc_route_request_statuses_total', 'route_name="books-grpc",grpc_status="OK",error=""')).toBe(4);
    expect(sample(text, 'outbound_grpc_route_retry_requests_total', 'route_name="books-grpc"')).toBe(4);
  });

  it('retries a gRPC call whose UNAVAILABLE comes in trailers after the response headers, as Linkerd peeks them', async () => {
    const { proxy, dst, policy } = await meshed();
    let calls = 0;
    const server = h2CreateServer();
    server.on('stream', (stream) => {
      calls++;
      stream.on('data', () => undefined);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      const fail = calls % 2 === 1;
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': fail ? '14' : '0' }));
      // A failed call: headers, then trailers (no message, not a trailers-only response).
      if (fail) return stream.end();
      stream.end('reply');
    });
    const port = await listenOn(server);
    cleanups.push(() => server.close());
    endpoints(dst, 'books-v1', port);
    const grpcOne = { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend: backend('books-v1') }] } } };
    const retry = { maxRetries: 2, conditions: { unavailable: true }, backoff: { minBackoff: durationFromMillis(1), maxBackoff: durationFromMillis(2) } };
    policy.answers.set(TARGET, grpcPolicy([{ matches: [{ rpc: { service: 'books.Books' } }], backends: grpcOne, retry }]));
    const session = h2connect(`http://127.0.0.1:${proxy.outboundPort}`);
    cleanups.push(() => session.close());
    for (let i = 0; i < 3; i++) {
      const ok = await grpcCall(session, '/books.Books/Get');
      expect(ok).toMatchObject({ body: 'reply', trailers: { 'grpc-status': '0' } });
    }
    expect(calls).toBe(6);
    // Without retries left the same answer is relayed, its trailers included.
    policy.push(TARGET, grpcPolicy([{ matches: [{ rpc: { service: 'books.Books' } }], backends: grpcOne }]));
    await expect.poll(async () => (await grpcCall(session, '/books.Books/Get')).trailers['grpc-status']).toBe('14');
  });

  it('retries an HTTP/2 request whose stream the endpoint refused (REFUSED_STREAM)', async () => {
    const { proxy, dst, policy } = await meshed();
    let calls = 0;
    const server = h2CreateServer();
    server.on('stream', (stream) => {
      calls++;
      stream.on('error', () => undefined);
      if (calls % 2 === 1) return stream.close(h2constants.NGHTTP2_REFUSED_STREAM);
      stream.respond({ ':status': 200 });
      stream.end('served');
    });
    const port = await listenOn(server);
    cleanups.push(() => server.close());
    endpoints(dst, 'books-v1', port);
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1'), retry: { maxRetries: 1, conditions: { statusRanges: [] } } }]));
    const session = h2connect(`http://127.0.0.1:${proxy.outboundPort}`);
    cleanups.push(() => session.close());
    const get = () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const s = session.request({ ':path': '/h2', ':authority': 'books.default.svc.cluster.local' });
        let status = 0;
        let body = '';
        s.on('response', (h) => (status = Number(h[':status'])));
        s.on('data', (d: Buffer) => (body += d.toString()));
        s.on('end', () => resolve({ status, body }));
        s.on('error', reject);
        s.end();
      });
    for (let i = 0; i < 3; i++) expect(await get()).toEqual({ status: 200, body: 'served' });
    expect(calls).toBe(6);
  });

  it('reaches a meshed peer over mTLS HTTP/2 with l5d-orig-proto, the server app seeing HTTP/1.1 and our identity', async () => {
    const { proxy, dst, policy, pki, identity } = await meshed();
    const server = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: BOOKS });
    cleanups.push(() => server.proxy.close());
    const books = await app('books', (req, res) => res.end(`books saw ${req.url} HTTP/${req.httpVersion} client-id=${String(req.headers['l5d-client-id'])} x-added=${String(req.headers['x-added'])}`));
    server.inboundTarget = { ip: '127.0.0.1', port: books.port };
    await expect.poll(async () => (await fetch(`${server.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);
    dst.services.set(authority('books'), [
      destination.Update.fromPartial({
        update: {
          $case: 'add',
          value: {
            metricLabels: { namespace: 'default', service: 'books' },
            addrs: [{ addr: tcpAddress('127.0.0.1', server.inboundPort), weight: 10000, tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } }, protocolHint: { protocol: { $case: 'h2', value: {} } } }],
          },
        },
      }),
    ]);
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books'), filters: [{ kind: { $case: 'requestHeaderModifier', value: { set: { headers: [{ name: 'x-added', value: Buffer.from('yes') }] } } } }] }]));
    for (let i = 0; i < 3; i++) {
      const r = await send(proxy.outboundPort, `/m/${i}`);
      expect(r.body).toBe(`books saw /m/${i} HTTP/1.1 client-id=web.default.serviceaccount.identity.trellis.cluster.local x-added=yes`);
      expect(r.headers['l5d-orig-proto']).toBeUndefined();
    }
    // One mTLS connection carried the three requests.
    expect(sample(await server.metrics(), 'tcp_open_total', 'tls="true",client_id="web.default.serviceaccount.identity.trellis.cluster.local"')).toBe(1);
  });

  it('fails fast with 504 when a backend has no endpoints within its failfast timeout, then sheds with 503', async () => {
    const { proxy, dst, policy } = await meshed();
    dst.services.set(authority('empty'), []);
    policy.answers.set(TARGET, httpPolicy([{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: backend('empty', 250) }] } } } }]));
    const t0 = performance.now();
    const first = await send(proxy.outboundPort, '/ff');
    const elapsed = performance.now() - t0;
    expect(first.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(245);
    expect(elapsed).toBeLessThan(1_500);
    const second = await send(proxy.outboundPort, '/ff');
    expect(second.status).toBe(503);
    console.log(`failfast 250 ms: 504 after ${elapsed.toFixed(0)} ms, then ${second.status}`);
  });

  it('retries an attempt whose per-try timeout fired on the next endpoint pick', async () => {
    const { proxy, dst, policy } = await meshed();
    const flaky = await app('pt', (_req, res, n) => {
      if (n === 1) return void setTimeout(() => res.end('late'), 3_000).unref();
      res.end('fast');
    });
    endpoints(dst, 'books-v1', flaky.port);
    const retry = { maxRetries: 2, conditions: { statusRanges: [{ start: 500, end: 599 }] }, timeout: durationFromMillis(150), backoff: { minBackoff: durationFromMillis(1), maxBackoff: durationFromMillis(2) } };
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1'), retry }]));
    const t0 = performance.now();
    const r = await send(proxy.outboundPort, '/pt');
    const elapsed = performance.now() - t0;
    expect(r.body).toBe('fast');
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(1_500);
    expect(flaky.seen).toHaveLength(2);
  });

  it('honours l5d-retry-* and l5d-timeout headers on a route that allows them, and removes them', async () => {
    const { proxy, dst, policy } = await meshed();
    const flaky = await app('flaky', (req, res, n) => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 3_000).unref();
      res.statusCode = n % 2 === 1 ? 500 : 200;
      res.end(`retry-headers=${Object.keys(req.headers).filter((h) => h.startsWith('l5d-')).join(',') || 'none'}`);
    });
    endpoints(dst, 'books-v1', flaky.port);
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1'), allowL5dRequestHeaders: true }]));
    for (let i = 0; i < 5; i++) {
      const r = await send(proxy.outboundPort, `/h/${i}`, { 'l5d-retry-http': '5xx', 'l5d-retry-limit': '2' });
      expect(r).toMatchObject({ status: 200, body: 'retry-headers=none' });
    }
    expect(flaky.seen).toHaveLength(10);
    const t0 = performance.now();
    const slow = await send(proxy.outboundPort, '/slow', { 'l5d-timeout': '200ms' });
    expect(slow.status).toBe(504);
    expect(performance.now() - t0).toBeLessThan(1_500);
    // Without the headers nothing is retried.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await send(proxy.outboundPort, `/n/${i}`)).status);
    expect(statuses.filter((s) => s === 500).length).toBe(2);
  });
});
