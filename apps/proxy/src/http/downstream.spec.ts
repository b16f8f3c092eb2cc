import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createH2Server, sensitiveHeaders, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { connect as netConnect, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H2Endpoint } from '../balance/h2-endpoint.ts';
import type { ProxyError } from '../errors.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { EndpointClient } from '../outbound/endpoint-client.ts';
import { TargetCache } from '../tcp/targets.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';
import { h1Downstream, h2Downstream } from './downstream.ts';
import { Exchange, type HttpContext, type RequestHead } from './exchange.ts';

const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const targets = new TargetCache(metrics, 'all-unauthenticated');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class TestExchange extends Exchange {
  constructor() {
    super(targets.get('outbound', '10.0.0.1', 80, false), false, ctx);
  }
  forward(): void {
    // answered through the downstream under test
  }
  downstream(): undefined {
    return undefined;
  }
  requestHead(): RequestHead {
    throw new Error('not read');
  }
  protected respondError(_err: ProxyError): void {
    // not reached
  }
}

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => s.close(r)));
  return (s.address() as AddressInfo).port;
}

describe("a request's client side", () => {
  it('reads an HTTP/1 request (absolute-form, hop-by-hop headers and those Connection names dropped, Host kept) and writes the answer with trailers', async () => {
    let seen: Record<string, unknown> = {};
    const port = await listen(
      createServer((req: IncomingMessage, res: ServerResponse) => {
        const d = h1Downstream(new TestExchange(), req, res, () => false);
        seen = { method: d.method, target: d.target, path: d.path, authority: d.authority, scheme: d.scheme, h1: d.h1, headers: d.headers, body: d.body === undefined };
        const sink = d.head(200, { 'x-answer': 'yes' }, false);
        sink?.write('hi');
        d.end({ 'x-trailer': 't' });
      }),
    );
    const got = await new Promise<{ status: number; answer: unknown; body: string; trailers: unknown }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: 'http://books.default:8080/a?b=1', headers: { host: 'books.default:8080', connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', te: 'gzip', 'X-Keep': 'k' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, answer: res.headers['x-answer'], body, trailers: res.trailers }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(seen).toEqual({
      method: 'GET',
      target: 'http://books.default:8080/a?b=1',
      path: '/a?b=1',
      authority: 'books.default:8080',
      scheme: 'http',
      h1: { version: '1.1', absolute: true },
      headers: { host: 'books.default:8080', 'x-keep': 'k' },
      body: true,
    });
    expect(got).toEqual({ status: 200, answer: 'yes', body: 'hi', trailers: { 'x-trailer': 't' } });
  });

  it('reads an HTTP/2 request without pseudo or hop-by-hop headers and answers with trailers, or resets with a code', async () => {
    let seen: Record<string, unknown> = {};
    const server = createH2Server();
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      const d = h2Downstream(new TestExchange(), stream, headers, flags);
      seen = { method: d.method, path: d.path, authority: d.authority, h1: d.h1, headers: d.headers };
      if (headers[':path'] === '/reset') return d.abort(0x8);
      d.head(200, { 'content-type': 'application/grpc' }, false)?.write('msg');
      d.end({ 'grpc-status': '0' });
    });
    const port = await listen(server as unknown as Server);
    const session = connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => session.destroy());
    const ask = (path: string) =>
      new Promise<{ body: string; grpc: unknown; rst: number }>((resolve) => {
        const req = session.request({ ':method': 'POST', ':path': path, ':authority': 'books:80', 'content-type': 'application/grpc' });
        let body = '';
        let grpc: unknown;
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('trailers', (t) => (grpc = t['grpc-status']));
        req.on('error', () => undefined);
        req.on('close', () => resolve({ body, grpc, rst: req.rstCode ?? 0 }));
        req.end('x');
      });
    expect(await ask('/books.Books/Get')).toEqual({ body: 'msg', grpc: '0', rst: 0 });
    expect(seen).toEqual({ method: 'POST', path: '/books.Books/Get', authority: 'books:80', h1: undefined, headers: { 'content-type': 'application/grpc' } });
    expect((await ask('/reset')).rst).toBe(0x8);
  });
});

/**
 * Sends `raw` (an HTTP/1 request as bytes) to an HTTP/1 server whose requests are read by h1Downstream and sent
 * by the endpoint client to a plaintext h2-hinted endpoint: what a client proxy does with HTTP/1 between meshed
 * peers. Answers the HTTP/2 request head the endpoint saw.
 */
async function upgraded(raw: string): Promise<IncomingHttpHeaders> {
  let seen: IncomingHttpHeaders = {};
  const upstream = createH2Server();
  upstream.on('stream', (stream, headers) => {
    seen = headers;
    stream.respond({ ':status': 200, 'l5d-orig-proto': String(headers['l5d-orig-proto']) });
    stream.end('ok');
  });
  const upPort = await listen(upstream as unknown as Server);
  const target = { addr: `127.0.0.1:${upPort}`, ip: '127.0.0.1', port: upPort, identity: undefined, serverName: undefined };
  // Plaintext endpoint (no identity): the client's TLS part is never asked for a connection.
  const noTls = undefined as unknown as MeshTls;
  const h2 = new H2Endpoint({ target, tls: noTls });
  const client = new EndpointClient(noTls, () => false);
  cleanups.push(() => h2.close(), () => client.close());
  const endpoint = { ...target, weight: 1, labels: {}, hint: undefined, opaqueTransportPort: undefined, authorityOverride: undefined };
  const port = await listen(
    createServer((req: IncomingMessage, res: ServerResponse) => {
      const d = h1Downstream(new TestExchange(), req, res, () => false);
      client.send({ endpoint, h2 } as never, d, d.headers, { kind: 'none' }, {
        response: (up) => {
          d.head(up.status, up.headers, false)?.end();
          up.body.resume();
        },
        error: () => d.abort(),
        requestEnd: () => undefined,
      });
    }),
  );
  const answer = await new Promise<string>((resolve, reject) => {
    // Both requests ask the server to close after its answer (Connection: close, HTTP/1.0).
    const socket = netConnect(port, '127.0.0.1', () => socket.write(raw));
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  expect(answer).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
  expect(answer.toLowerCase()).not.toContain('l5d-orig-proto');
  return seen;
}

describe('an HTTP/1 request upgraded to HTTP/2 between meshed proxies', () => {
  it('carries Host as :authority and as a host header, sets l5d-orig-proto, and drops hop-by-hop headers, those Connection names, TE other than trailers and a client-sent l5d-orig-proto', async () => {
    const seen = await upgraded(
      'POST /books?x=1 HTTP/1.1\r\nHost: books:80\r\nTransfer-Encoding: chunked\r\nConnection: close, X-Hop\r\nX-Hop: h\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\nl5d-orig-proto: HTTP/2\r\nX-A: 1\r\nx-a: 2\r\n\r\n0\r\n\r\n',
    );
    const { date: _date, ...rest } = seen;
    expect(rest).toEqual({
      ':method': 'POST',
      ':scheme': 'http',
      ':path': '/books?x=1',
      ':authority': 'books:80',
      host: 'books:80',
      'x-a': '1, 2',
      'l5d-orig-proto': 'HTTP/1.1',
      [sensitiveHeaders]: [],
    });
  });

  it('marks HTTP/1.0 and absolute-form, takes :authority from the target, and keeps the Host header as sent', async () => {
    const seen = await upgraded('GET http://books.default:8080/a?b=1 HTTP/1.0\r\nHost: other\r\n\r\n');
    expect([seen[':authority'], seen[':path'], seen[':scheme'], seen.host, seen['l5d-orig-proto']]).toEqual(['books.default:8080', '/a?b=1', 'http', 'other', 'HTTP/1.0; absolute-form']);
  });
});
