// A Node without the parser the lean HTTP/1 paths use cannot be provoked for real, so src/node-internals.ts is replaced
// by a fake that reports it missing: the HTTP/1 server and client then serve every request through node:http.
import { once } from 'node:events';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import { attachTarget } from './connection.ts';
import { compose, forwardExchange } from './exchange.ts';
import { createH1Server } from './h1.ts';
import { countRequests } from './layers.ts';
import { createPools } from './pool.ts';

vi.mock('../node-internals.ts', async (original) => ({ ...(await original<typeof import('../node-internals.ts')>()), httpParser: undefined }));

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe('without the Node internals of the lean HTTP/1 paths (fake: node-internals.ts reports them missing)', () => {
  it('forwards keep-alive, chunked and Content-Length requests through node:http alone', async () => {
    const up = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(`${req.method} ${req.url} ${body}`));
    });
    up.listen(0, '127.0.0.1');
    await once(up, 'listening');
    closers.push(() => up.close(), () => up.closeAllConnections());
    const metrics = new ProxyMetrics();
    const entry = new TargetCache(metrics, 'all-unauthenticated').get('outbound', '127.0.0.1', (up.address() as AddressInfo).port, false);
    const pools = createPools({ idleTimeoutMs: 0, maxIdle: 10, connectTimeoutMs: 1000 });
    const h1 = createH1Server({
      ctx: { metrics, connectTimeoutMs: 1000, respond: { direction: 'outbound', proxyName: 'test', informational: true, identify: true } },
      pools,
      handler: compose(countRequests)(forwardExchange),
      headerReadTimeoutMs: 10_000,
      isDraining: () => false,
    });
    closers.push(() => h1.closeAllConnections(), () => pools.keepAlive.destroy());
    const accept = createNetServer({ allowHalfOpen: true }, (socket) => {
      attachTarget(socket, entry, undefined);
      h1.emit('connection', socket);
    });
    accept.listen(0, '127.0.0.1');
    await once(accept, 'listening');
    closers.push(() => accept.close());
    const port = (accept.address() as AddressInfo).port;
    const send = (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await send('GET', '/a', undefined)).toBe('200 GET /a ');
    expect(await send('POST', '/b', 'hello', { 'content-length': '5' })).toBe('200 POST /b hello');
    expect(await send('PUT', '/c', 'chunks', { 'transfer-encoding': 'chunked' })).toBe('200 PUT /c chunks');
    expect(entry.endpoint.requests.value).toBe(3);
    // The lean client's pool never held a connection; node:http's keep-alive agent did.
    expect(pools.lean.idleCount(entry)).toBe(0);
    expect(Object.values(pools.keepAlive.freeSockets).flat().length).toBeGreaterThan(0);
  });
});
