import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from 'prom-client';
import { AdminServer } from './admin-server.ts';
import { createRegistry } from './metrics.ts';

let server: AdminServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(ready: () => boolean, routes = {}) {
  const registry = createRegistry({ processMetrics: false });
  new Counter({ name: 'demo_total', help: 'a demo counter', registers: [registry] }).inc(3);
  server = new AdminServer({ registry, ready, routes });
  const { port } = await server.listen(0, '127.0.0.1');
  return (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init);
}

describe('AdminServer', () => {
  it('serves Prometheus text on /metrics', async () => {
    const get = await start(() => true);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await res.text()).toContain('demo_total 3');
  });

  it('answers /ping and reflects readiness on /ready', async () => {
    let ready = false;
    const get = await start(() => ready);
    expect(await (await get('/ping')).text()).toBe('pong\n');
    expect((await get('/ready')).status).toBe(503);
    ready = true;
    const res = await get('/ready');
    expect([res.status, await res.text()]).toEqual([200, 'ready\n']);
  });

  it('serves extra routes, 404s unknown paths and refuses other methods', async () => {
    const get = await start(() => true, { '/extra': (_req: unknown, res: import('node:http').ServerResponse) => res.end('x') });
    expect(await (await get('/extra')).text()).toBe('x');
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/ping', { method: 'POST' })).status).toBe(405);
  });

  it('answers 500 when a route throws, and keeps serving', async () => {
    const get = await start(() => true, { '/boom': () => Promise.reject(new Error('boom')) });
    expect((await get('/boom')).status).toBe(500);
    expect((await get('/ping')).status).toBe(200);
  });

  it('reports a port already in use as a listen error', async () => {
    const registry = createRegistry({ processMetrics: false });
    const a = new AdminServer({ registry, ready: () => true });
    const { port } = await a.listen(0, '127.0.0.1');
    try {
      await expect(new AdminServer({ registry, ready: () => true }).listen(port, '127.0.0.1')).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await a.close();
    }
  });
});
