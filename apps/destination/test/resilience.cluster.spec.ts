// The destination under stress: 1,000 concurrent Get streams on one Service all receive an update, the
// admin endpoint reports what it should, and streams survive an API server restart and converge.
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadKubeConfig } from '@trellis/k8s';
import { tcpAddressToString, type destination } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Destination } from '../src/app.ts';
import { api, clients, collect, createNamespace, createService, installCrds, slice, startTestDestination, until } from './harness.ts';

const run = promisify(execFile);
const CLUSTER_CLI = join(import.meta.dirname, '../../../tools/cluster/src/cli.ts');
const ips = (u: destination.Update) =>
  u.update?.$case === 'add' ? u.update.value.addrs.map((a) => (a.addr ? tcpAddressToString(a.addr) : '')) : u.update?.$case === 'remove' ? u.update.value.addrs.map(tcpAddressToString) : [];

async function admin(d: Destination, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${d.ports.admin}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('on the shared test cluster', () => {
  const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
  const k = api(kc);
  let d: Destination;
  let ns = '';
  beforeAll(async () => {
    await installCrds(kc);
    ns = await createNamespace(kc, 'dst-load');
    d = await startTestDestination(kc);
  });
  afterAll(async () => {
    await d?.close();
  });

  it('delivers an update to each of 1,000 concurrent Get streams on one Service', async () => {
    await createService(kc, ns, 'hot', [{ name: 'http', port: 80, targetPort: 80 }]);
    await k.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('hot-a', 'hot', [{ name: 'http', port: 80 }], [{ ip: '10.40.0.1' }]) });
    const c = clients(d);
    const streams = Array.from({ length: 1000 }, () => collect(c.destination.get({ scheme: '', path: `hot.${ns}.svc.cluster.local:80`, contextToken: '' })));
    await until('every stream has its first Add', () => streams.every((s) => s.items.length >= 1), 20_000);
    expect(d.openStreams()).toBe(1000);
    const t0 = Date.now();
    await k.discovery.replaceNamespacedEndpointSlice({ name: 'hot-a', namespace: ns, body: slice('hot-a', 'hot', [{ name: 'http', port: 80 }], [{ ip: '10.40.0.1' }, { ip: '10.40.0.2' }]) });
    await until('every stream has the second Add', () => streams.every((s) => s.items.length >= 2), 20_000);
    const ms = Date.now() - t0;
    expect(streams.every((s) => s.error === undefined && ips(s.items[1] as destination.Update).join() === '10.40.0.2:80')).toBe(true);
    expect(ms).toBeLessThan(5000);
    for (const s of streams) s.cancel();
    await until('streams closed', () => d.openStreams() === 0, 10_000);
    c.destination.close();
  }, 60_000);

  it('answers /ping, /ready once synced, and /metrics with stream, update and cache figures', async () => {
    expect(await admin(d, '/ping')).toEqual({ status: 200, body: 'pong\n' });
    expect((await admin(d, '/ready')).status).toBe(200);
    const m = await admin(d, '/metrics');
    expect(m.status).toBe(200);
    for (const name of ['destination_open_streams', 'destination_updates_sent_total', 'endpoint_updates_queue_overflow', 'pod_cache_size', 'endpointslice_cache_size', 'service_cache_size', 'k8s_watch_restarts{resource="/api/v1/pods"}']) {
      expect(m.body).toContain(name);
    }
    expect((await admin(d, '/nope')).status).toBe(404);
  });
});

describe('when the API server restarts', () => {
  let dir = '';
  let d: Destination | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-dst-restart-'));
    await run(process.execPath, [CLUSTER_CLI, 'up', '--dir', dir, '--controllers=false']);
  }, 120_000);
  afterAll(async () => {
    await d?.close();
    if (dir) await run(process.execPath, [CLUSTER_CLI, 'down', '--dir', dir]);
  });

  it('keeps Get streams open and converges to the new state once the API server is back', async () => {
    const kc = loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig') });
    const k = api(kc);
    await installCrds(kc);
    const ns = await createNamespace(kc, 'restart');
    await createService(kc, ns, 'web', [{ name: 'http', port: 80, targetPort: 80 }]);
    await k.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('web-a', 'web', [{ name: 'http', port: 80 }], [{ ip: '10.50.0.1' }]) });
    const dst = await startTestDestination(kc);
    d = dst;
    const s = collect(clients(dst).destination.get({ scheme: '', path: `web.${ns}.svc.cluster.local:80`, contextToken: '' }));
    expect(ips(await s.next('first add'))).toEqual(['10.50.0.1:80']);

    await run(process.execPath, [CLUSTER_CLI, 'stop-apiserver', '--dir', dir]);
    await until('the destination notices', () => !dst.watches.synced(), 60_000);
    expect((await admin(dst, '/ready')).status).toBe(503);

    await run(process.execPath, [CLUSTER_CLI, 'start-apiserver', '--dir', dir], { timeout: 90_000 });
    await k.discovery.replaceNamespacedEndpointSlice({ name: 'web-a', namespace: ns, body: slice('web-a', 'web', [{ name: 'http', port: 80 }], [{ ip: '10.50.0.2' }]) });
    expect(ips(await s.next('add of the new endpoint', (u) => u.update?.$case === 'add', 20_000))).toEqual(['10.50.0.2:80']);
    expect(ips(await s.next('remove of the old one', (u) => u.update?.$case === 'remove', 20_000))).toEqual(['10.50.0.1:80']);
    expect(s.error).toBeUndefined();
    expect(s.ended).toBe(false);
    await until('ready again', () => dst.watches.synced(), 20_000);
    expect((await admin(dst, '/ready')).status).toBe(200);
    expect(dst.watches.caches.reduce((n, c) => n + c.restarts, 0)).toBeGreaterThanOrEqual(1);
    s.cancel();
  }, 180_000);
});
