import { createServer, type IncomingHttpHeaders as H1Incoming } from 'node:http';
import { createServer as createH2Server, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H2Endpoint } from '../balance/h2-endpoint.ts';
import type { Endpoint } from '../discovery/endpoints.ts';
import type { MeshEndpoint } from '../discovery/outbound.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';
import { EndpointClient, type Body, type OutRequest, type UpResponse } from './endpoint-client.ts';

// Plaintext endpoints (no identity): the TLS part of the client is never asked for a connection here.
const noTls = undefined as unknown as MeshTls;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => s.close(r)));
  return (s.address() as AddressInfo).port;
}

function endpoint(port: number): Endpoint {
  return { addr: `127.0.0.1:${port}`, ip: '127.0.0.1', port, weight: 1, labels: {}, identity: undefined, serverName: undefined, hint: undefined, opaqueTransportPort: undefined, authorityOverride: undefined } as Endpoint;
}

const h1Get: OutRequest = { method: 'GET', target: '/books/1?x=1', path: '/books/1?x=1', authority: 'books.default.svc.cluster.local', scheme: 'http', h1: { version: '1.1', absolute: false } };
const NONE: Body = { kind: 'none' };

function send(c: EndpointClient, me: MeshEndpoint, r: OutRequest, headers: Record<string, string>, body: Body = NONE): Promise<{ res: UpResponse; text: string }> {
  return new Promise((resolve, reject) => {
    c.send(me, r, headers, body, {
      response: (res) => {
        let text = '';
        res.body.on('data', (d: Buffer) => (text += d.toString()));
        res.body.on('end', () => resolve({ res, text }));
      },
      error: reject,
      requestEnd: () => undefined,
    });
  });
}

describe('the endpoint client', () => {
  it('sends an HTTP/1 request as HTTP/1 to an endpoint without the h2 hint: Host from the authority, l5d-require-id kept back, proxy headers dropped from the answer', async () => {
    let seen: H1Incoming = {};
    const port = await listen(
      createServer((req, res) => {
        seen = req.headers;
        res.setHeader('l5d-proxy-error', 'for proxies');
        res.end(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
      }),
    );
    const c = new EndpointClient(noTls, () => false);
    cleanups.push(() => c.close());
    const { res, text } = await send(c, { endpoint: endpoint(port), h2: undefined }, h1Get, { accept: 'text/plain', 'l5d-require-id': 'books' });
    expect([res.status, text, seen.host, seen.accept, seen['l5d-require-id']]).toEqual([200, 'GET /books/1?x=1 HTTP/1.1', 'books.default.svc.cluster.local', 'text/plain', undefined]);
    expect(res.headers['l5d-proxy-error']).toBeUndefined();
  });

  it("upgrades an HTTP/1 request onto an h2-hinted endpoint's pooled connection with l5d-orig-proto, and strips it from the answer", async () => {
    let seen: IncomingHttpHeaders = {};
    const server = createH2Server();
    server.on('stream', (stream, headers) => {
      seen = headers;
      stream.respond({ ':status': 200, 'l5d-orig-proto': 'HTTP/1.1' });
      stream.end('ok');
    });
    const port = await listen(server as unknown as Server);
    const e = endpoint(port);
    const h2 = new H2Endpoint({ target: { addr: e.addr, ip: e.ip, port, identity: undefined, serverName: undefined }, tls: noTls });
    cleanups.push(() => h2.close());
    const c = new EndpointClient(noTls, () => false);
    const { res, text } = await send(c, { endpoint: e, h2 }, h1Get, { host: 'books.default.svc.cluster.local', 'x-b': '2' });
    expect([seen[':method'], seen[':path'], seen[':authority'], seen['l5d-orig-proto'], seen.host, seen['x-b']]).toEqual(['GET', '/books/1?x=1', 'books.default.svc.cluster.local', 'HTTP/1.1', 'books.default.svc.cluster.local', '2']);
    expect([res.status, text, res.headers['l5d-orig-proto']]).toEqual([200, 'ok', undefined]);
  });

  it('sends native HTTP/2 with its body over one kept session per endpoint, and reports a refused connection as an error', async () => {
    const sessions: unknown[] = [];
    const server = createH2Server();
    server.on('session', (s) => sessions.push(s));
    server.on('stream', (stream) => {
      let got = '';
      stream.on('data', (d: Buffer) => (got += d.toString()));
      stream.on('end', () => {
        stream.respond({ ':status': 200 }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(`got ${got}`);
      });
    });
    const port = await listen(server as unknown as Server);
    const c = new EndpointClient(noTls, () => false);
    cleanups.push(() => c.close());
    const me: MeshEndpoint = { endpoint: endpoint(port), h2: undefined };
    const grpc: OutRequest = { method: 'POST', target: '/books.Books/Get', path: '/books.Books/Get', authority: 'books:80', scheme: 'http', h1: undefined };
    for (const n of [1, 2]) {
      const { res, text } = await send(c, me, grpc, { 'content-type': 'application/grpc' }, { kind: 'buffer', data: Buffer.from(`call ${n}`) });
      expect([res.status, text, res.trailers()?.['grpc-status']]).toEqual([200, `got call ${n}`, '0']);
    }
    expect(sessions).toHaveLength(1);
    const closed = await listen(createServer());
    cleanups.splice(-1, 1)[0]?.();
    await new Promise((r) => setTimeout(r, 20));
    await expect(send(c, { endpoint: endpoint(closed), h2: undefined }, h1Get, {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
