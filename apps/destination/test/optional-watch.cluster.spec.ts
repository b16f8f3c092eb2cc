// A watch of an optional custom resource (the Gateway API routes) against the real API server: while the CRD
// is missing it is reported once and looked for again; once the CRD appears the cache starts and sees objects.
import { randomBytes } from 'node:crypto';
import { ApiextensionsV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { loadKubeConfig, WatchCache } from '@trellis/k8s';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { isServed, RESOURCES, startWhenServed, type OptionalStart } from '../src/index/watches.ts';
import { api, until } from './harness.ts';

const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
const group = `w${randomBytes(4).toString('hex')}.trellis.test`;
const ref = { apiVersion: `${group}/v1`, kind: 'Widget', plural: 'widgets' };
const cache = new WatchCache<KubernetesObject>(kc, ref);
let start: OptionalStart | undefined;

afterAll(async () => {
  start?.cancel();
  await cache.stop();
  await kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: `widgets.${group}` }).catch(() => undefined);
});

describe('isServed', () => {
  it('tells a missing custom resource from one the API server serves', async () => {
    expect(await isServed(kc, ref)).toBe(false);
    expect(await isServed(kc, RESOURCES.servers)).toBe(true);
  });
});

describe('startWhenServed', () => {
  it('waits for a missing CRD without failing, then watches it once it is installed', async () => {
    const lines: { msg: string; resource: string }[] = [];
    const logger = { info: (obj: object, msg: string) => void lines.push({ ...(obj as { resource: string }), msg }), warn: (obj: object, msg: string) => void lines.push({ ...(obj as { resource: string }), msg }) };
    start = startWhenServed(kc, ref, cache as unknown as WatchCache<KubernetesObject, KubernetesObject>, { logger, recheckMs: 100 });
    const looking = start;
    // Several looks, one line, and the cache not started.
    await until('three looks', () => looking.looks >= 3);
    expect(lines).toEqual([{ resource: `widgets.${group}/v1`, msg: `Widget (${group}/v1) is not installed; not watched until it is` }]);
    expect(cache.synced).toBe(false);

    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } }],
        },
      },
    });
    const custom = api(kc).custom;
    for (let i = 0; ; i++) {
      try {
        await custom.createNamespacedCustomObject({ group, version: 'v1', namespace: 'default', plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' } } });
        break;
      } catch (err) {
        // The CRD takes a moment to be served.
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await start.started;
    await until('the widget in the cache', () => cache.list().some((o) => o.metadata?.name === 'w1'));
    expect(lines).toHaveLength(1);
  });
});
