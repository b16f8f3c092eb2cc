import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { UnauthorizedRequestError } from '../inbound/policy/errors.ts';
import { TargetCache, type TargetEntry } from '../tcp/targets.ts';
import { compose, forwardExchange, type Exchange } from './exchange.ts';
import { createH1Server } from './h1.ts';
import { kTarget, type WithTarget } from './connection.ts';
import { headerObject, leanFraming } from './h1-lean-server.ts';
import { countRequests } from './layers.ts';
import { createPools } from './pool.ts';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

interface Front {
  readonly port: number;
  readonly exchanges: Exchange[];
  draining: boolean;
  readonly closeIdle: () => void;
}

/** A proxy front: accepted connections go to createH1Server with the upstream as their target. */
async function front(upstream: (req: IncomingMessage, res: ServerResponse) => void, headerReadTimeoutMs = 10_000, targetPort?: number, deny = ''): Promise<Front> {
  const up = createHttpServer(upstream);
  const upPort = await listen(up);
  closers.push(() => up.closeAllConnections());
  const metrics = new ProxyMetrics();
  const entry: TargetEntry = new TargetCache(metrics, 'all-unauthenticated').get('outbound', '127.0.0.1', targetPort ?? upPort, false);
  const pools = createPools({ idleTimeoutMs: 0, maxIdle: 10, connectTimeoutMs: 1000 });
  closers.push(() => pools.lean.destroy());
  const f: Front = { port: 0, exchanges: [], draining: false, closeIdle: () => h1.closeIdleConnections() };
  const handler = compose(countRequests)((ex) => {
    f.exchanges.push(ex);
    // As inbound policy denies a request: answered from its head, before its body is read.
    if (deny !== '' && ex.requestHead().target === deny) return ex.fail(new UnauthorizedRequestError('srv'));
    forwardExchange(ex);
  });
  const h1 = createH1Server({
    ctx: { metrics, connectTimeoutMs: 1000, respond: { direction: 'outbound', proxyName: 'test', informational: true, identify: true } },
    pools,
    handler,
    headerReadTimeoutMs,
    isDraining: () => f.draining,
  });
  const accept = createNetServer({ allowHalfOpen: true }, (socket) => {
    (socket as WithTarget)[kTarget] = entry;
    h1.emit('connection', socket);
  });
  const port = await listen(accept);
  closers.push(() => h1.closeAllConnections());
  return Object.assign(f, { port });
}

function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('x-method', req.method ?? '');
    res.setHeader('x-te', req.headers['transfer-encoding'] ?? '');
    res.setHeader('x-l5d', req.headers['l5d-dst-override'] ?? '');
    res.end(`${req.url} ${Buffer.concat(chunks).toString()}`);
  });
}

/** A raw client: writes bytes and collects everything the front answers until it closes or `until` matches. */
class Raw {
  readonly socket: Socket;
  text = '';
  closed = false;
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => (this.text += d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
    closers.push(() => this.socket.destroy());
  }
  async until(pred: (text: string, closed: boolean) => boolean, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pred(this.text, this.closed)) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.text)} closed=${this.closed}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.text;
  }
  responses(): number {
    return this.text.split('HTTP/1.1 ').length - 1;
  }
}

describe('lean HTTP/1 server path', () => {
  it('answers pipelined requests in order on one connection, each with its own body', async () => {
    const f = await front(echo);
    const c = new Raw(f.port);
    c.socket.write(
      'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
        'PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nl5d-dst-override: trailer\r\n\r\n' +
        'GET /d HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const text = await c.until((t) => t.includes('/d '));
    // The chunked request's trailer is not forwarded, and does not become a header of the next request.
    expect(text).not.toContain('trailer');
    const a = text.indexOf('/a ');
    const b = text.indexOf('/b hello');
    const cc = text.indexOf('/c abcde');
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a);
    expect(cc).toBeGreaterThan(b);
    expect(text).toContain('x-te: chunked');
    expect(text).toMatch(/Connection: keep-alive/);
    expect(text).toMatch(/Date: /);
    expect(c.closed).toBe(false);
    expect(f.exchanges.map((e) => e.status)).toEqual([200, 200, 200, 200]);
  });

  it('relays a chunked response with its trailers and frames a close-delimited one as chunked', async () => {
    const f = await front((req, res) => {
      req.resume();
      if (req.url === '/trailers') {
        res.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'grpc-status' });
        res.write('part1');
        res.addTrailers({ 'grpc-status': '0' });
        res.end('part2');
        return;
      }
      // No Content-Length: node chunks it to the proxy; the proxy chunks it again to the client.
      res.write('x');
      res.end('y');
    });
    const c = new Raw(f.port);
    c.socket.write('GET /trailers HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await c.until((t) => t.endsWith('0\r\ngrpc-status: 0\r\n\r\n'));
    expect(text).toContain('5\r\npart1\r\n');
    expect(f.exchanges[0]?.grpcStatus).toBe(0);
    c.text = '';
    c.socket.write('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
    const t2 = await c.until((t) => t.endsWith('0\r\n\r\n'));
    expect(t2).toMatch(/Transfer-Encoding: chunked/i);
  });

  it('answers an empty body with Content-Length: 0 and HEAD without a body', async () => {
    const f = await front((req, res) => {
      req.resume();
      if (req.method === 'HEAD') {
        res.setHeader('Content-Length', '10');
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
    });
    const c = new Raw(f.port);
    c.socket.write('HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /e HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await c.until(() => c.responses() === 2 && c.text.endsWith('\r\n\r\n'));
    expect(text).toContain('Content-Length: 10');
    expect(text).toContain('Content-Length: 0');
    expect(text.split('\r\n\r\n').filter((s) => s.length > 0).length).toBe(2);
  });

  it('streams a slow request body as it arrives and answers once it is complete', async () => {
    let seen = '';
    const f = await front((req, res) => {
      req.on('data', (d: Buffer) => (seen += d.toString()));
      req.on('end', () => res.end(`got ${seen}`));
    });
    const c = new Raw(f.port);
    c.socket.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab');
    const deadline = Date.now() + 5000;
    while (seen !== 'ab' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toBe('ab');
    expect(c.responses()).toBe(0);
    c.socket.write('cdef');
    await c.until((t) => t.includes('got abcdef'));
  });

  it('stops the upstream request when the client closes mid-body and counts it as an i/o error', async () => {
    let upstreamAborted = false;
    const f = await front((req, res) => {
      req.resume();
      req.on('close', () => {
        if (!req.complete) upstreamAborted = true;
      });
      req.on('end', () => res.end('never'));
    });
    const c = new Raw(f.port);
    c.socket.write('POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a part');
    const deadline = Date.now() + 5000;
    while (f.exchanges.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    c.socket.destroy();
    while (!upstreamAborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(upstreamAborted).toBe(true);
    expect(f.exchanges[0]?.finished).toBe(true);
    expect(f.exchanges[0]?.errorLabel).toBe('i/o');
  });

  it('answers malformed heads with 400 and oversized ones with 431, and closes', async () => {
    const f = await front(echo);
    const bad = new Raw(f.port);
    bad.socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    await bad.until((t) => t.includes('/ok '));
    bad.socket.write('NOT HTTP AT ALL\r\n\r\n');
    const text = await bad.until((_t, closed) => closed);
    expect(text).toContain('/ok ');
    expect(text).toMatch(/HTTP\/1\.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n$/);
    const big = new Raw(f.port);
    big.socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`);
    expect(await big.until((_t, closed) => closed)).toMatch(/^HTTP\/1\.1 431 /);
    const badChunk = new Raw(f.port);
    badChunk.socket.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    expect(await badChunk.until((_t, closed) => closed)).toMatch(/HTTP\/1\.1 400 /);
  });

  it('answers 408 to a head that does not complete within the header read timeout', async () => {
    const f = await front(echo, 300);
    const c = new Raw(f.port);
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    expect(await c.until((_t, closed) => closed)).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  });

  it('hands requests it does not serve (HTTP/1.0, Expect, no Host) to node:http on the same connection', async () => {
    const f = await front(echo);
    const c = new Raw(f.port);
    c.socket.write('GET /lean HTTP/1.1\r\nHost: x\r\n\r\nPOST /exp HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
    await c.until((t) => t.includes('100 Continue'));
    c.socket.write('abc');
    await c.until((t) => t.includes('/exp abc'));
    expect(c.text.indexOf('/lean ')).toBeLessThan(c.text.indexOf('/exp abc'));
    const old = new Raw(f.port);
    old.socket.write('GET /old HTTP/1.0\r\nHost: x\r\n\r\n');
    expect(await old.until((_t, closed) => closed)).toContain('/old ');
    const hostless = new Raw(f.port);
    hostless.socket.write('GET /nohost HTTP/1.1\r\n\r\n');
    // Forwarded (node:http's throwaway connection); the upstream, a node:http server, refuses it for the missing Host.
    expect(await hostless.until((t) => t.endsWith('\r\n\r\n0\r\n\r\n'))).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(f.exchanges.map((e) => e.requestHead().target)).toEqual(['/lean', '/exp', '/old', '/nohost']);
    expect(f.exchanges.map((e) => e.constructor.name)).toEqual(['LeanExchange', 'H1Exchange', 'H1Exchange', 'H1Exchange']);
  });

  it('closes after the response when the client asks, or when the proxy drains, and closes idle connections on drain', async () => {
    const f = await front(echo);
    const c = new Raw(f.port);
    c.socket.write('GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await c.until((_t, closed) => closed)).toContain('Connection: close');
    const idle = new Raw(f.port);
    idle.socket.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.until((t) => t.includes('/b '));
    const busy = new Raw(f.port);
    f.draining = true;
    f.closeIdle();
    await idle.until((_t, closed) => closed);
    busy.socket.write('GET /c HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await busy.until((_t, closed) => closed)).toContain('Connection: close');
  });

  it('still answers a client that half-closes after its request', async () => {
    const f = await front(echo);
    const c = new Raw(f.port);
    c.socket.end('POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi');
    expect(await c.until((_t, closed) => closed)).toContain('/half hi');
  });

  it('answers 502 with the proxy error headers when the upstream refuses, and closes the connection', async () => {
    const dead = createNetServer();
    const deadPort = await listen(dead);
    dead.close();
    await once(dead, 'close');
    const f = await front(echo, 10_000, deadPort);
    const c = new Raw(f.port);
    c.socket.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await c.until((t) => t.endsWith('\r\n\r\n'));
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(text).toMatch(/l5d-proxy-error: /i);
    expect(text).toContain('content-length: 0');
    expect(f.exchanges[0]?.status).toBe(502);
    await c.until((_t, closed) => closed);
  });

  it('answers a denied request before its body, reads that body and serves the next request on the connection', async () => {
    const f = await front(echo, 10_000, undefined, '/deny');
    const c = new Raw(f.port);
    c.socket.write('POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
    await c.until((t) => t.endsWith('\r\n\r\n'));
    expect(c.text).toMatch(/^HTTP\/1\.1 403 /);
    c.text = '';
    c.socket.write('56789GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await c.until((t) => t.includes('/next '))).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(c.closed).toBe(false);
  });
});

describe('leanFraming', () => {
  it('takes Content-Length, chunked and body-less requests with a Host, and leaves the rest to node:http', () => {
    expect(leanFraming('POST', ['Host', 'x', 'Content-Length', '3'])).toBe('length');
    expect(leanFraming('POST', ['Host', 'x', 'Content-Length', '0'])).toBe('none');
    expect(leanFraming('PUT', ['Host', 'x', 'Transfer-Encoding', 'chunked'])).toBe('chunked');
    expect(leanFraming('GET', ['Host', 'x'])).toBe('none');
    expect(leanFraming('POST', ['Host', 'x'])).toBeUndefined();
    expect(leanFraming('GET', [])).toBeUndefined();
    expect(leanFraming('POST', ['Host', 'x', 'Expect', '100-continue', 'Content-Length', '1'])).toBeUndefined();
    expect(leanFraming('POST', ['Host', 'x', 'Transfer-Encoding', 'gzip, chunked'])).toBeUndefined();
  });
});

describe('headerObject', () => {
  it('joins repeated headers as node:http does', () => {
    expect(headerObject(['Accept', 'a', 'accept', 'b', 'Host', 'x', 'host', 'y', 'Set-Cookie', 'c', 'Cookie', 'd', 'cookie', 'e'])).toEqual({
      accept: 'a, b',
      host: 'x',
      'set-cookie': ['c'],
      cookie: 'd; e',
    });
  });
});
