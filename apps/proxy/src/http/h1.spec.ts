// The HTTP/1 codec's node:http side (h1.ts): tunnels (Upgrade, CONNECT), the h2c Upgrade it declines, and requests
// the lean path leaves to node:http. Real sockets, a real upstream; the lean path has its own spec
// (h1-lean-server.spec.ts).
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import { attachTarget } from './connection.ts';
import { compose, forwardExchange, type Exchange } from './exchange.ts';
import { clientErrorStatus, createH1Server } from './h1.ts';
import { countRequests } from './layers.ts';
import { createPools } from './pool.ts';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0).reverse()) c();
});

async function listen(server: Server | HttpServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** A proxy front whose accepted connections go to createH1Server with `upstream` as their target. */
async function front(upstream: HttpServer): Promise<{ port: number; exchanges: Exchange[] }> {
  const upPort = await listen(upstream);
  closers.push(() => upstream.closeAllConnections());
  const metrics = new ProxyMetrics();
  const entry = new TargetCache(metrics, 'all-unauthenticated').get('outbound', '127.0.0.1', upPort, false);
  const pools = createPools({ idleTimeoutMs: 0, maxIdle: 10, connectTimeoutMs: 1000 });
  const exchanges: Exchange[] = [];
  const h1 = createH1Server({
    ctx: { metrics, connectTimeoutMs: 1000, respond: { direction: 'outbound', proxyName: 'test', informational: true, identify: true } },
    pools,
    handler: compose(countRequests)((ex) => {
      exchanges.push(ex);
      forwardExchange(ex);
    }),
    headerReadTimeoutMs: 10_000,
    isDraining: () => false,
  });
  const accept = createNetServer({ allowHalfOpen: true }, (socket) => {
    attachTarget(socket, entry, undefined);
    h1.emit('connection', socket);
  });
  const port = await listen(accept);
  closers.push(
    () => h1.closeAllConnections(),
    () => pools.lean.destroy(),
    () => pools.keepAlive.destroy(),
  );
  return { port, exchanges };
}

/** A raw client: what the front answers, and whether it closed the connection. */
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
}

/** Answers each tunnelled byte chunk with `echo:<chunk>`. */
function echoTunnel(socket: Socket, head: Buffer): void {
  const echo = (d: Buffer) => socket.write(`echo:${d.toString()}`);
  if (head.length > 0) echo(head);
  socket.on('data', echo);
  socket.on('error', () => undefined);
  closers.push(() => socket.destroy());
}

describe('HTTP/1 codec (node:http side)', () => {
  it('tunnels an Upgrade once the upstream answers 101, then carries bytes both ways', async () => {
    const up = createHttpServer();
    const seen: string[] = [];
    up.on('upgrade', (req, socket: Socket, head: Buffer) => {
      seen.push(`${req.method} ${req.url} ${req.headers.upgrade} ${req.headers.connection}`);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      echoTunnel(socket, head);
    });
    const f = await front(up);
    const c = new Raw(f.port);
    c.socket.write('GET /chat HTTP/1.1\r\nHost: chat\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    const head = await c.until((t) => t.includes('\r\n\r\n'));
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(head.toLowerCase()).toContain('upgrade: echo');
    c.socket.write('one');
    await c.until((t) => t.endsWith('echo:one'));
    c.socket.write('two');
    await c.until((t) => t.endsWith('echo:two'));
    expect(seen).toEqual(['GET /chat echo Upgrade']);
    expect([f.exchanges[0]?.status, f.exchanges[0]?.finished]).toEqual([101, true]);
  });

  it('relays the answer of an upstream that does not switch protocols, and closes the connection', async () => {
    const up = createHttpServer((req, res) => res.end(`no upgrade for ${req.url}`));
    const f = await front(up);
    const c = new Raw(f.port);
    c.socket.write('GET /chat HTTP/1.1\r\nHost: chat\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    const text = await c.until((t, closed) => closed && t.includes('no upgrade'));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain('Connection: close\r\n');
    expect(text).toContain('no upgrade for /chat');
    expect(f.exchanges[0]?.status).toBe(200);
  });

  it('tunnels CONNECT once the upstream answers 200, without a Content-Length on the answer', async () => {
    const up = createHttpServer();
    up.on('connect', (req, socket: Socket, head: Buffer) => {
      socket.write(`HTTP/1.1 200 Connection Established\r\nContent-Length: 0\r\nX-Target: ${req.url}\r\n\r\n`);
      echoTunnel(socket, head);
    });
    const f = await front(up);
    const c = new Raw(f.port);
    c.socket.write('CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n');
    const head = await c.until((t) => t.includes('\r\n\r\n'));
    expect(head).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n/);
    expect(head).toContain('X-Target: db.example:5432\r\n');
    expect(head.toLowerCase()).not.toContain('content-length');
    c.socket.write('select 1');
    await c.until((t) => t.endsWith('echo:select 1'));
  });

  it('takes an h2c Upgrade as a plain request: the upstream sees neither Upgrade nor HTTP2-Settings, and the connection stays open', async () => {
    const up = createHttpServer((req, res) => res.end(`upgrade=${req.headers.upgrade ?? '-'} settings=${req.headers['http2-settings'] ?? '-'}`));
    const f = await front(up);
    const c = new Raw(f.port);
    c.socket.write('GET /h2c HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n');
    await c.until((t) => t.includes('upgrade=- settings=-'));
    c.socket.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.until((t) => t.split('HTTP/1.1 200').length === 3);
    expect(c.closed).toBe(false);
    expect(f.exchanges.map((e) => e.status)).toEqual([200, 200]);
  });

  it('cuts the client connection when the upstream closes mid-response on the node:http path (HTTP/1.0), counting an i/o error', async () => {
    const up = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only a part', () => res.destroy());
    });
    const f = await front(up);
    const c = new Raw(f.port);
    c.socket.write('GET /cut HTTP/1.0\r\nHost: x\r\n\r\n');
    const text = await c.until((t, closed) => closed && t.includes('only a part'));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text.endsWith('only a part')).toBe(true);
    await expect.poll(() => f.exchanges[0]?.finished).toBe(true);
    expect(f.exchanges[0]?.errorLabel).toBe('i/o');
  });
});

describe('clientErrorStatus', () => {
  it('answers 431 to an oversized head, 408 to a slow one and 400 to the rest', () => {
    expect([clientErrorStatus('HPE_HEADER_OVERFLOW'), clientErrorStatus('ERR_HTTP_REQUEST_TIMEOUT'), clientErrorStatus('HPE_INVALID_METHOD'), clientErrorStatus(undefined)]).toEqual([431, 408, 400, 400]);
  });
});
