import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminServer, type AdminDeps } from './server.ts';

let base = '';
let filter = 'warn,linkerd=info';
let shutdowns = 0;
let enabled = false;
const deps: AdminDeps = {
  metrics: async () => 'request_total{direction="inbound"} 3\n',
  isReady: () => true,
  env: { LINKERD2_PROXY_LOG: 'warn', HOME: '/root' },
  getLogFilter: () => filter,
  setLogFilter: (f) => (f.includes('bogus') ? false : ((filter = f), true)),
  get shutdownEnabled() {
    return enabled;
  },
  shutdown: () => void shutdowns++,
};
const server = createAdminServer(deps);

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe('admin server', () => {
  it('answers /live and /ready', async () => {
    expect(await (await fetch(`${base}/live`)).text()).toBe('live\n');
    expect(await (await fetch(`${base}/ready`)).text()).toBe('ready\n');
  });

  it('serves metrics, gzipped when asked', async () => {
    const plain = await fetch(`${base}/metrics`);
    expect(await plain.text()).toContain('request_total{direction="inbound"} 3');
    const res = await new Promise<import('node:http').IncomingMessage>((resolve) =>
      import('node:http').then((h) => h.get(`${base}/metrics`, { headers: { 'accept-encoding': 'gzip' } }, resolve)),
    );
    expect(res.headers['content-encoding']).toBe('gzip');
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    expect(gunzipSync(Buffer.concat(chunks)).toString()).toContain('request_total');
  });

  it('serves /env.json whole or by key, and refuses k=v queries, other methods and non-JSON accepts', async () => {
    expect(await (await fetch(`${base}/env.json`)).json()).toEqual({ LINKERD2_PROXY_LOG: 'warn', HOME: '/root' });
    expect(await (await fetch(`${base}/env.json?LINKERD2_PROXY_LOG&MISSING`)).json()).toEqual({ LINKERD2_PROXY_LOG: 'warn', MISSING: null });
    expect((await fetch(`${base}/env.json?A=1`)).status).toBe(400);
    expect((await fetch(`${base}/env.json`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/env.json`, { headers: { accept: 'text/html' } })).status).toBe(406);
  });

  it('reads and changes the log filter from loopback', async () => {
    expect(await (await fetch(`${base}/proxy-log-level`)).text()).toBe('warn,linkerd=info');
    expect((await fetch(`${base}/proxy-log-level`, { method: 'PUT', body: 'linkerd=debug' })).status).toBe(204);
    expect(filter).toBe('linkerd=debug');
    expect((await fetch(`${base}/proxy-log-level`, { method: 'PUT', body: 'bogus' })).status).toBe(400);
  });

  it('refuses /shutdown unless enabled, and only accepts POST', async () => {
    const off = await fetch(`${base}/shutdown`, { method: 'POST' });
    expect(off.status).toBe(404);
    expect(await off.text()).toBe('shutdown endpoint is not enabled\n');
    expect((await fetch(`${base}/shutdown`)).status).toBe(405);
    enabled = true;
    const on = await fetch(`${base}/shutdown`, { method: 'POST' });
    expect(await on.text()).toBe('shutdown\n');
    expect(shutdowns).toBe(1);
  });

  it('answers 404 for anything else', async () => expect((await fetch(`${base}/nope`)).status).toBe(404));
});
