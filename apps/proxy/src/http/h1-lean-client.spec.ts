import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache, type TargetEntry } from '../tcp/targets.ts';
import { H1Pool, requestHead, type Framing } from './h1-lean-client.ts';

interface Answer {
  status: number;
  message: string;
  headers: string[];
  body: string;
  trailers: string[];
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<TargetEntry> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  const port = (server.address() as AddressInfo).port;
  return new TargetCache(new ProxyMetrics(), 'all-unauthenticated').get('outbound', '127.0.0.1', port, false);
}

function pool(idleTimeoutMs = 0, maxIdle = 10): H1Pool {
  const p = new H1Pool({ connectTimeoutMs: 1000, idleTimeoutMs, maxIdle });
  closers.push(() => p.destroy());
  return p;
}

function send(p: H1Pool, entry: TargetEntry, method: string, headers: string[], framing: Framing, body: Buffer[] = []): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const a: Answer = { status: 0, message: '', headers: [], body: '', trailers: [] };
    const call = p.request(entry, requestHead(method, '/x?y=1', ['Host', 'example', ...headers]), framing, method === 'HEAD', {
      head: (status, message, raw) => Object.assign(a, { status, message, headers: raw }),
      body: (chunk) => {
        a.body += chunk.toString();
        return true;
      },
      end: (trailers) => resolve({ ...a, trailers }),
      error: (err) => reject(err),
    });
    for (const b of body) call.write(b);
    call.end();
  });
}

function echo(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('x-method', req.method ?? '');
    res.setHeader('x-te', req.headers['transfer-encoding'] ?? '');
    res.end(`${req.url} ${Buffer.concat(chunks).toString()}`);
  });
}

describe('H1Pool', () => {
  it('sends Content-Length and chunked bodies and reuses one connection for sequential requests', async () => {
    let connections = 0;
    const server = createHttpServer(echo);
    server.on('connection', () => connections++);
    const entry = await listen(server);
    const p = pool();
    const a = await send(p, entry, 'POST', ['Content-Length', '5'], 'length', [Buffer.from('hello')]);
    expect(a.status).toBe(200);
    expect(a.body).toBe('/x?y=1 hello');
    const b = await send(p, entry, 'PUT', ['Transfer-Encoding', 'chunked'], 'chunked', [Buffer.from('ab'), Buffer.from('cd')]);
    expect(b.body).toBe('/x?y=1 abcd');
    expect(b.headers).toContain('chunked');
    const c = await send(p, entry, 'GET', [], 'none');
    expect(c.body).toBe('/x?y=1 ');
    expect(connections).toBe(1);
    expect(p.idleCount(entry)).toBe(1);
  });

  it('reads responses framed by close, HEAD responses without a body, and trailers', async () => {
    const server = createNetServer((s) => {
      let seen = '';
      s.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
        if (!seen.includes('\r\n\r\n')) return;
        if (seen.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n');
        else if (seen.includes('trailers')) s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ngrpc-status: 7\r\n\r\n');
        else s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
        seen = '';
      });
    });
    const entry = await listen(server);
    const p = pool();
    const closed = await send(p, entry, 'GET', [], 'none');
    expect(closed.body).toBe('until the end');
    expect(p.idleCount(entry)).toBe(0);
    const head = await send(p, entry, 'HEAD', [], 'none');
    expect(head.headers).toEqual(['Content-Length', '99']);
    expect(head.body).toBe('');
    const t = await send(p, entry, 'GET', ['x-want', 'trailers'], 'none');
    expect(t.body).toBe('abc');
    expect(t.trailers).toEqual(['grpc-status', '7']);
  });

  it('keeps a connection whose response ended before the request body did, once the body is sent', async () => {
    let connections = 0;
    const server = createNetServer((s) => {
      connections++;
      // Answers each request as soon as its head is in, then reads its 5-byte body.
      let buf = '';
      let inBody = false;
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (!inBody && end >= 0) {
            s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
            buf = buf.slice(end + 4);
            inBody = true;
          } else if (inBody && buf.length >= 5) {
            buf = buf.slice(5);
            inBody = false;
          } else return;
        }
      });
    });
    const entry = await listen(server);
    const p = pool();
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        const call = p.request(entry, requestHead('POST', '/', ['Host', 'example', 'Content-Length', '5']), 'length', false, {
          head: () => undefined,
          body: () => true,
          end: () => {
            call.write(Buffer.from('llo'));
            call.end();
            resolve();
          },
          error: reject,
        });
        call.write(Buffer.from('he'));
      });
      expect(p.idleCount(entry)).toBe(1);
    }
    expect(connections).toBe(1);
  });

  it('skips 1xx responses and delivers the final one', async () => {
    const server = createNetServer((s) => s.once('data', () => s.write('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n')));
    const entry = await listen(server);
    const a = await send(pool(), entry, 'GET', [], 'none');
    expect(a.status).toBe(204);
  });

  it('fails with the parser error code on a malformed response, and with ECONNRESET when the server closes first', async () => {
    const bad = createNetServer((s) => s.once('data', () => s.write('HTTP/1.1 2xx nonsense\r\n\r\n')));
    await expect(send(pool(), await listen(bad), 'GET', [], 'none')).rejects.toMatchObject({ code: expect.stringMatching(/^HPE_/) });
    const hangup = createNetServer((s) => s.once('data', () => s.end()));
    await expect(send(pool(), await listen(hangup), 'GET', [], 'none')).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('reports a refused connection with its errno', async () => {
    const probe = createNetServer();
    const entry = await listen(probe);
    probe.close();
    await once(probe, 'close');
    await expect(send(pool(), entry, 'GET', [], 'none')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('keeps at most maxIdle idle connections and closes those idle for the idle timeout', async () => {
    const server = createHttpServer(echo);
    const entry = await listen(server);
    const p = pool(3000, 1);
    await Promise.all([send(p, entry, 'GET', [], 'none'), send(p, entry, 'GET', [], 'none')]);
    expect(p.idleCount(entry)).toBe(1);
    p.closeIdle(Date.now() + 2000);
    expect(p.idleCount(entry)).toBe(1);
    p.closeIdle(Date.now() + 3000);
    expect(p.idleCount(entry)).toBe(0);
  });

  it('never hands a request a connection the idle sweep has just closed', async () => {
    const server = createHttpServer(echo);
    const entry = await listen(server);
    const p = pool(3000);
    await send(p, entry, 'GET', [], 'none');
    // The swept socket's 'close' comes a turn later; the next request, in the same turn, needs a new one.
    p.closeIdle(Date.now() + 3000);
    const a = await send(p, entry, 'GET', [], 'none');
    expect(a.status).toBe(200);
  });
});
