// HTTP/1 between proxies over real mTLS on loopback: the endpoint client with TRELLIS_PROXY_MESH_HTTP1's pool, against
// a server that terminates mTLS as the inbound proxy does and serves HTTP/1 with node:http.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMeshPki } from '../../test/mesh-pki.ts';
import { H2Endpoint } from '../balance/h2-endpoint.ts';
import type { Endpoint } from '../discovery/endpoints.ts';
import type { MeshEndpoint } from '../discovery/outbound.ts';
import { asProxyError, UpstreamIoError } from '../errors.ts';
import type { Credentials } from '../identity/credentials.ts';
import { MeshTls } from '../tls/mesh-tls.ts';
import { EndpointClient, type Body, type OutRequest, type UpResponse } from './endpoint-client.ts';
import { meshH1Head } from './mesh-h1.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';

// Each side's certificate, issued before the tests from one test PKI.
const creds: { web?: Credentials; books?: Credentials } = {};
const clientTls = new MeshTls({ current: () => creds.web });
const serverTls = new MeshTls({ current: () => creds.books });

beforeAll(async () => {
  const pki = await createMeshPki();
  creds.web = await pki.issue(WEB);
  creds.books = await pki.issue(BOOKS);
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Peer {
  readonly port: number;
  /** Every mTLS connection accepted, with the client identity it verified. */
  readonly conns: { socket: TLSSocket; clientId: string }[];
}

/** A server proxy's inbound, reduced: mTLS terminated for BOOKS, then HTTP/1 served by `app`. */
async function peer(app: (req: IncomingMessage, res: ServerResponse, clientId: string) => void): Promise<Peer> {
  const conns: Peer['conns'] = [];
  const http = createHttpServer({ keepAliveTimeout: 0 }, (req, res) => app(req, res, (req.socket as TLSSocket & { clientId?: string }).clientId ?? ''));
  const tcp: Server = createNetServer((raw: Socket) => {
    raw.on('error', () => undefined);
    serverTls.terminate(raw).then(
      (t) => {
        Object.assign(t.socket, { clientId: t.clientId });
        conns.push({ socket: t.socket, clientId: t.clientId });
        http.emit('connection', t.socket);
      },
      () => raw.destroy(),
    );
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const c of conns) c.socket.destroy();
    return new Promise((r) => tcp.close(r));
  });
  return { port: (tcp.address() as AddressInfo).port, conns };
}

function endpointOf(port: number, hint: 'h2' | undefined): MeshEndpoint {
  const e = { addr: `127.0.0.1:${port}`, ip: '127.0.0.1', port, weight: 1, labels: {}, identity: BOOKS, serverName: undefined, hint, opaqueTransportPort: undefined, authorityOverride: undefined } as unknown as Endpoint;
  // The h2 hint's pooled HTTP/2 connection: never dialled by these HTTP/1 requests.
  const h2 = hint ? new H2Endpoint({ target: { addr: e.addr, ip: e.ip, port, identity: BOOKS, serverName: undefined }, tls: clientTls }) : undefined;
  if (h2) cleanups.push(() => h2.close());
  return { endpoint: e, h2 };
}

function client(meshHttp1: boolean): EndpointClient {
  const c = new EndpointClient(clientTls, () => false, undefined, 1_000, meshHttp1 ? { idleTimeoutMs: 0, maxIdle: 10 } : undefined);
  cleanups.push(() => c.close());
  return c;
}

const get: OutRequest = { method: 'GET', target: '/books/1', path: '/books/1', authority: 'books.default.svc.cluster.local', scheme: 'http', h1: { version: '1.1', absolute: false } };
const post: OutRequest = { ...get, method: 'POST', target: '/upload', path: '/upload' };
const NONE: Body = { kind: 'none' };

interface Answer {
  res: UpResponse;
  text: string;
  /** The body closed without its end (the connection died mid-response). */
  cut: boolean;
}

function send(c: EndpointClient, me: MeshEndpoint, r: OutRequest, headers: Record<string, string>, body: Body = NONE): Promise<Answer> {
  return new Promise((resolve, reject) => {
    c.send(me, r, headers, body, {
      response: (res) => {
        let text = '';
        let ended = false;
        res.body.on('data', (d: Buffer) => (text += d.toString()));
        res.body.on('end', () => {
          ended = true;
          resolve({ res, text, cut: false });
        });
        res.body.on('close', () => {
          if (!ended) resolve({ res, text, cut: true });
        });
      },
      error: reject,
      requestEnd: () => undefined,
    });
  });
}

describe('HTTP/1 between proxies (TRELLIS_PROXY_MESH_HTTP1)', () => {
  it('sends HTTP/1 requests to an h2-hinted endpoint over one reused mTLS connection: verified both ways, Host from the authority, bodies both framings, trailers back', async () => {
    const p = await peer((req, res, clientId) => {
      let got = '';
      req.on('data', (d: Buffer) => (got += d.toString()));
      req.on('end', () => {
        res.setHeader('l5d-proxy-error', 'for proxies');
        res.setHeader('x-seen', `${req.method} ${req.url} HTTP/${req.httpVersion} host=${String(req.headers.host)} id=${clientId} require=${String(req.headers['l5d-require-id'] ?? '-')} orig=${String(req.headers['l5d-orig-proto'] ?? '-')} te=${String(req.headers['transfer-encoding'] ?? '-')}`);
        if (req.url === '/trailers') {
          res.setHeader('trailer', 'grpc-status');
          res.write('with trailers');
          res.addTrailers({ 'grpc-status': '0' });
          return res.end();
        }
        res.end(`got ${got.length}`);
      });
    });
    const me = endpointOf(p.port, 'h2');
    const c = client(true);
    const a = await send(c, me, get, { accept: 'text/plain', 'l5d-require-id': BOOKS });
    expect([a.res.status, a.res.headers['x-seen'], a.res.headers['l5d-proxy-error'], a.text]).toEqual([200, `GET /books/1 HTTP/1.1 host=books.default.svc.cluster.local id=${WEB} require=- orig=- te=-`, undefined, 'got 0']);
    const sized = await send(c, me, post, { 'content-length': '5000' }, { kind: 'buffer', data: Buffer.alloc(5000, 'x') });
    expect([sized.res.headers['x-seen'], sized.text]).toEqual([`POST /upload HTTP/1.1 host=books.default.svc.cluster.local id=${WEB} require=- orig=- te=-`, 'got 5000']);
    const streamed = await send(c, me, post, {}, { kind: 'stream', prefix: Buffer.from('abc'), rest: Readable.from([Buffer.alloc(70_000, 'y')]) });
    expect([String(streamed.res.headers['x-seen']).endsWith('te=chunked'), streamed.text]).toEqual([true, 'got 70003']);
    const t = await send(c, me, { ...get, target: '/trailers', path: '/trailers' }, {});
    expect([t.text, t.res.trailers()?.['grpc-status'], t.res.grpcStatus]).toEqual(['with trailers', '0', undefined]);
    // Four requests, one connection, kept idle for the next.
    expect(p.conns.map((x) => x.clientId)).toEqual([WEB]);
    await expect.poll(() => c.meshH1IdleCount(me.endpoint)).toBe(1);
  });

  it('opens a new connection when the peer closed the pooled one, and the request succeeds', async () => {
    const p = await peer((req, res) => res.end(`ok ${req.url}`));
    const me = endpointOf(p.port, 'h2');
    const c = client(true);
    expect((await send(c, me, get, {})).text).toBe('ok /books/1');
    await expect.poll(() => c.meshH1IdleCount(me.endpoint)).toBe(1);
    // The server proxy closes its idle side (its own idle timeout, a restart).
    p.conns[0]?.socket.end();
    await expect.poll(() => c.meshH1IdleCount(me.endpoint)).toBe(0);
    expect((await send(c, me, get, {})).text).toBe('ok /books/1');
    expect(p.conns).toHaveLength(2);
  });

  it('fails a request whose connection dies before the response as the HTTP/1 endpoint client does today (502, i/o), and cuts one that dies mid-response', async () => {
    const p = await peer((req, res) => {
      if (req.url === '/half') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('part');
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      req.socket.destroy();
    });
    const today = await send(client(false), endpointOf(p.port, undefined), get, {}).catch((e: unknown) => e);
    const meshH1 = await send(client(true), endpointOf(p.port, 'h2'), get, {}).catch((e: unknown) => e);
    const [was, is] = [asProxyError(today, 'books'), asProxyError(meshH1, 'books')];
    expect(is).toBeInstanceOf(UpstreamIoError);
    expect([is.constructor, is.httpStatus, is.errorLabel, is.message]).toEqual([was.constructor, was.httpStatus, was.errorLabel, was.message]);
    const c = client(true);
    const me = endpointOf(p.port, 'h2');
    const half = await send(c, me, { ...get, target: '/half', path: '/half' }, {});
    expect([half.res.status, half.text, half.cut, half.res.resetCode()]).toEqual([200, 'part', true, undefined]);
    expect(c.meshH1IdleCount(me.endpoint)).toBe(0);
  });

  it('leaves what HTTP/1 cannot carry as it is to the HTTP/2 upgrade: HTTP/1.0, Expect, a header value with a line break', () => {
    expect(meshH1Head({ ...get, h1: { version: '1.0', absolute: false } }, {}, 'none')).toBeUndefined();
    expect(meshH1Head(post, { expect: '100-continue' }, 'length')).toBeUndefined();
    expect(meshH1Head(get, { 'x-a': 'one\r\nx-b: two' }, 'none')).toBeUndefined();
    expect(meshH1Head(get, { 'x-a': ['1', '2'] }, 'chunked')).toBe('GET /books/1 HTTP/1.1\r\nhost: books.default.svc.cluster.local\r\nx-a: 1\r\nx-a: 2\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n');
  });
});
