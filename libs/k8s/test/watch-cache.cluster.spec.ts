// The watch cache against the real API server: events, handler exceptions, and recovery after the API
// server goes away and comes back (a dedicated cluster, so other test files are not disturbed).
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { loadKubeConfig, WatchCache } from '../src/index.ts';
import { createNamespace } from './cluster-helpers.ts';

const run = promisify(execFile);
const CLUSTER_CLI = join(import.meta.dirname, '../../../tools/cluster/src/cli.ts');

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

const cm = (name: string, data: Record<string, string> = {}): V1ConfigMap => ({ metadata: { name }, data });

function configMaps(kc: KubeConfig, namespace: string) {
  return new WatchCache<V1ConfigMap>(kc, { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace }, { backoff: { initialMs: 100, maxMs: 1000 } });
}

describe('WatchCache on the shared test cluster', () => {
  const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
  const core = kc.makeApiClient(CoreV1Api);
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace(kc, 'watch');
  });

  it('delivers objects created, updated and deleted as add, update and delete events', async () => {
    const cache = configMaps(kc, ns);
    const events: string[] = [];
    cache.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    cache.on('update', (o) => events.push(`update ${o.metadata?.name} ${o.data?.['v']}`));
    cache.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    await cache.start();
    expect(cache.synced).toBe(true);
    try {
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('a', { v: '1' }) });
      await until('add a', () => events.includes('add a'));
      await core.replaceNamespacedConfigMap({ name: 'a', namespace: ns, body: cm('a', { v: '2' }) });
      await until('update a 2', () => events.includes('update a 2'));
      expect(cache.get('a', ns)?.data?.['v']).toBe('2');
      await core.deleteNamespacedConfigMap({ name: 'a', namespace: ns });
      await until('delete a', () => events.includes('delete a'));
      expect(cache.get('a', ns)).toBeUndefined();
      expect(events.filter((e) => e.endsWith(' a') || e.startsWith('update a'))).toEqual(['add a', 'update a 2', 'delete a']);
    } finally {
      await cache.stop();
    }
  });

  it('hears from the API server on an idle watch within 75 s (a bookmark, or the client\'s reconnect after 30 s of silence), so the 90 s watchdog never restarts a healthy quiet watch', async () => {
    const quiet = await createNamespace(kc, 'bookmarks');
    const cache = configMaps(kc, quiet);
    await cache.start();
    try {
      const synced = cache.lastActivity;
      const ms = await until('activity on a watch of an unchanging namespace', () => cache.lastActivity > synced, 75_000);
      console.log(`first sign of life on an idle watch after ${ms} ms`);
      expect(cache.restarts).toBe(0);
    } finally {
      await cache.stop();
    }
  }, 90_000);

  it('reports a throwing handler instead of losing the exception, and keeps serving other handlers', async () => {
    const cache = configMaps(kc, ns);
    const reported: Array<{ err: unknown; name: string | undefined }> = [];
    const seen: string[] = [];
    cache.on('add', (o) => {
      if (o.metadata?.name === 'boom') throw new Error('handler failed on purpose');
    });
    cache.on('add', (o) => seen.push(o.metadata?.name ?? ''));
    cache.on('handlerError', (err, o) => reported.push({ err, name: o.metadata?.name }));
    await cache.start();
    try {
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('boom') });
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('after') });
      await until('after seen', () => seen.includes('after'));
      expect(reported).toHaveLength(1);
      expect(reported[0]?.name).toBe('boom');
      expect((reported[0]?.err as Error).message).toBe('handler failed on purpose');
      expect(cache.handlerErrors).toBe(1);
      expect(seen).toContain('boom');
      expect(cache.get('boom', ns)).toBeDefined();
    } finally {
      await cache.stop();
    }
  });

  it('keeps only what the transform returns, for listed objects and events alike, listing in pages', async () => {
    const tns = await createNamespace(kc, 'transform');
    for (const n of ['l1', 'l2', 'l3', 'l4', 'l5']) await core.createNamespacedConfigMap({ namespace: tns, body: cm(n, { v: n, big: 'x'.repeat(1000) }) });
    type Slim = { metadata?: { name?: string; namespace?: string; resourceVersion?: string }; v: string | undefined };
    const cache = new WatchCache<V1ConfigMap, Slim>(kc, { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: tns }, {
      listPageSize: 2,
      transform: (o) => ({ v: o.data?.['v'] }),
    });
    const updates: Slim[] = [];
    const deleted: string[] = [];
    cache.on('update', (o) => updates.push(o));
    cache.on('delete', (o) => deleted.push(o.metadata?.name ?? ''));
    await cache.start();
    try {
      const listed = cache.list(tns).filter((o) => o.metadata?.name?.startsWith('l'));
      expect(listed.map((o) => o.v).sort()).toEqual(['l1', 'l2', 'l3', 'l4', 'l5']);
      for (const o of listed) {
        expect(Object.keys(o).sort()).toEqual(['metadata', 'v']);
        expect(Object.keys(o.metadata ?? {}).sort()).toEqual(['name', 'namespace', 'resourceVersion']);
      }
      await core.replaceNamespacedConfigMap({ name: 'l1', namespace: tns, body: cm('l1', { v: 'changed', big: 'y' }) });
      await until('update l1', () => updates.some((o) => o.v === 'changed'));
      expect(JSON.stringify(cache.get('l1', tns))).not.toContain('big');
      await core.deleteNamespacedConfigMap({ name: 'l2', namespace: tns });
      await until('delete l2', () => deleted.includes('l2'));
      expect(cache.get('l2', tns)).toBeUndefined();
    } finally {
      await cache.stop();
    }
  });

  it('skips and reports an object the transform throws on, and keeps watching', async () => {
    const tns = await createNamespace(kc, 'transform-err');
    const cache = new WatchCache<V1ConfigMap, V1ConfigMap>(kc, { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespace: tns }, {
      transform: (o) => {
        if (o.metadata?.name === 'bad') throw new Error('cannot slim this one');
        return o;
      },
    });
    const reported: string[] = [];
    cache.on('handlerError', (err, o) => reported.push(`${o.metadata?.name}: ${(err as Error).message}`));
    await cache.start();
    try {
      await core.createNamespacedConfigMap({ namespace: tns, body: cm('bad') });
      await core.createNamespacedConfigMap({ namespace: tns, body: cm('good') });
      await until('good cached', () => cache.get('good', tns) !== undefined);
      expect(cache.get('bad', tns)).toBeUndefined();
      expect(reported).toEqual(['bad: cannot slim this one']);
      expect(cache.handlerErrors).toBe(1);
    } finally {
      await cache.stop();
    }
  });
});

describe('WatchCache when the API server restarts', () => {
  let dir = '';
  let kc: KubeConfig;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trellis-restart-'));
    await run(process.execPath, [CLUSTER_CLI, 'up', '--dir', dir, '--controllers=false']);
    kc = loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig') });
  }, 120_000);
  afterAll(async () => {
    if (dir) await run(process.execPath, [CLUSTER_CLI, 'down', '--dir', dir]);
  });

  it('converges to the API state within 10 s after the API server comes back, and says so', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await createNamespace(kc, 'restart');
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('before') });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('doomed') });
    const cache = configMaps(kc, ns);
    const errors: unknown[] = [];
    let syncs = 0;
    cache.on('error', (e) => errors.push(e));
    cache.on('synced', () => syncs++);
    await cache.start();
    try {
      expect(cache.list(ns).map((o) => o.metadata?.name).sort()).toEqual(['before', 'doomed']);

      await run(process.execPath, [CLUSTER_CLI, 'stop-apiserver', '--dir', dir]);
      await until('the cache notices the API server is gone', () => errors.length > 0 && !cache.synced, 60_000);

      await run(process.execPath, [CLUSTER_CLI, 'start-apiserver', '--dir', dir], { timeout: 90_000 });
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('after') });
      await core.deleteNamespacedConfigMap({ name: 'doomed', namespace: ns });
      const ms = await until(
        'the cache matches the API',
        () => cache.synced && cache.list(ns).map((o) => o.metadata?.name).sort().join() === 'after,before',
        10_000,
      );
      expect(ms).toBeLessThan(10_000);
      expect(syncs).toBeGreaterThanOrEqual(2);
      expect(cache.restarts).toBeGreaterThanOrEqual(1);
    } finally {
      await cache.stop();
    }
  }, 180_000);
});
