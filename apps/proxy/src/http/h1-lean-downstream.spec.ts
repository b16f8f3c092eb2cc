// A meshed target's HTTP/1 requests on the lean path: the HTTP/1 server fed connections with a router attached, as
// the outbound accept path feeds it, and a FAKE router standing in for the route stage (it answers through the
// Downstream as outbound/relay.ts does). Real sockets, node:http's client.
import { once } from 'node:events';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import { attachTarget } from './connection.ts';
import { forwardExchange, type ConnRouter, type Downstream, type HttpContext } from './exchange.ts';
import { createH1Server } from './h1.ts';
import { createPools } from './pool.ts';

const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An outbound listener whose connections go to `router`, as a meshed target's do. */
async function listen(router: ConnRouter): Promise<number> {
  const pools = createPools({ idleTimeoutMs: 0, maxIdle: 10, connectTimeoutMs: 1000 });
  const h1 = createH1Server({ ctx, pools, handler: forwardExchange, headerReadTimeoutMs: 10_000, isDraining: () => false });
  const entry = new TargetCache(metrics, 'all-unauthenticated').get('outbound', '10.96.0.10', 80, false);
  const accept = createNetServer((socket) => {
    attachTarget(socket, entry, router);
    h1.emit('connection', socket);
  });
  accept.listen(0, '127.0.0.1');
  await once(accept, 'listening');
  cleanups.push(() => accept.close(), () => pools.lean.destroy(), () => pools.keepAlive.destroy());
  return (accept.address() as AddressInfo).port;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  trailers: Record<string, string>;
  reused: boolean;
}

function send(port: number, agent: Agent, o: { method?: string; path?: string; headers?: Record<string, string>; body?: string[] } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent, method: o.method ?? 'GET', path: o.path ?? '/', headers: { host: 'books.default.svc.cluster.local:80', ...o.headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, trailers: res.trailers as Record<string, string>, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    for (const b of o.body ?? []) req.write(b);
    req.end();
  });
}

/** A FAKE route stage: reads the request body, then answers with what it saw, in two chunks and a trailer. */
const echoRouter: ConnRouter = {
  route(ex) {
    const d = ex.downstream() as Downstream;
    let got = '';
    const answer = () => {
      ex.status = 200;
      const sink = d.head(200, { 'x-seen': `${d.method} ${d.target} ${d.authority} ${String(d.headers['x-a'])} ${String(d.headers['connection'])}`, trailer: 'x-sum' }, false) as Writable;
      sink.write(Buffer.from('got '));
      sink.write(Buffer.from(got));
      d.end({ 'x-sum': String(got.length) });
      ex.finish();
    };
    if (!d.body) return answer();
    d.body.on('data', (c: Buffer) => (got += c.toString()));
    d.body.on('end', answer);
  },
};

describe('a routed request on the lean HTTP/1 path', () => {
  it('hands the router the request (authority, headers without hop-by-hop ones, the body in either framing) and writes its answer with trailers, keeping the connection', async () => {
    const port = await listen(echoRouter);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const a = await send(port, agent, { headers: { 'x-a': '1' } });
    expect([a.status, a.headers['x-seen'], a.body, a.trailers['x-sum']]).toEqual([200, 'GET / books.default.svc.cluster.local:80 1 undefined', 'got ', '0']);
    const sized = await send(port, agent, { method: 'POST', path: '/up', headers: { 'content-length': '5' }, body: ['hello'] });
    expect([sized.body, sized.reused]).toEqual(['got hello', true]);
    const chunked = await send(port, agent, { method: 'POST', path: '/up', body: ['a'.repeat(70_000), 'b'] });
    expect([chunked.body.length, chunked.trailers['x-sum'], chunked.reused]).toEqual([70_005, '70001', true]);
  });

  it('serves the next request on the connection when the router answered without reading the body', async () => {
    const refuse: ConnRouter = {
      route(ex) {
        const d = ex.downstream() as Downstream;
        ex.status = 403;
        d.head(403, { 'content-length': '0' }, true);
        ex.finish();
      },
    };
    const port = await listen(refuse);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect((await send(port, agent, { method: 'POST', body: ['x'.repeat(200_000)] })).status).toBe(403);
    const next = await send(port, agent);
    expect([next.status, next.reused]).toEqual([403, true]);
  });

  it('tells the router when the client goes away before the answer', async () => {
    let gone: () => void = () => undefined;
    let routed: () => void = () => undefined;
    const wentAway = new Promise<void>((r) => (gone = r));
    const reached = new Promise<void>((r) => (routed = r));
    const hang: ConnRouter = {
      route(ex) {
        (ex.downstream() as Downstream).onGone(gone);
        routed();
      },
    };
    const port = await listen(hang);
    const req = request({ host: '127.0.0.1', port, method: 'POST', headers: { host: 'books', 'content-length': '10' } });
    req.on('error', () => undefined);
    req.write('12345');
    await reached;
    req.destroy();
    await wentAway;
  });
});
