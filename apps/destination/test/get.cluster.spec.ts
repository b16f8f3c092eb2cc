// Destination.Get against the real API server: Adds with labels, identity and hints; Removes on scale
// down, not-ready and Service deletion; named target ports, instance names, zone hints; bad input.
import { status } from '@grpc/grpc-js';
import { loadKubeConfig } from '@trellis/k8s';
import { tcpAddressToString, type destination } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Destination } from '../src/app.ts';
import { api, clients, collect, createNamespace, createPod, createService, installCrds, slice, startTestDestination, streamError } from './harness.ts';

const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
const k = api(kc);
let d: Destination;
let c: ReturnType<typeof clients>;
let ns = '';

const text = (a: destination.WeightedAddr) => (a.addr ? tcpAddressToString(a.addr) : '');
const addrs = (u: destination.Update) => (u.update?.$case === 'add' ? u.update.value.addrs.map(text).sort() : u.update?.$case === 'remove' ? u.update.value.addrs.map((a) => tcpAddressToString(a)).sort() : []);
const isAdd = (u: destination.Update) => u.update?.$case === 'add';
const isRemove = (u: destination.Update) => u.update?.$case === 'remove';

beforeAll(async () => {
  await installCrds(kc);
  ns = await createNamespace(kc, 'dst-get');
  d = await startTestDestination(kc);
  c = clients(d);
});

afterAll(async () => {
  await d?.close();
});

describe('Destination.Get', () => {
  it('sends one Add with addresses, weights, labels, identity and hints, then Removes on scale-down and Service deletion', async () => {
    await createPod(kc, ns, 'web-1', '10.1.0.1', { meshed: true, serviceAccount: 'web', labels: { 'pod-template-hash': 'abc12' } });
    await createPod(kc, ns, 'web-2', '10.1.0.2');
    await createService(kc, ns, 'web', [{ name: 'http', port: 80, targetPort: 8080 }]);
    await k.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice('web-a', 'web', [{ name: 'http', port: 8080 }], [
        { ip: '10.1.0.1', pod: 'web-1', zone: 'z1' },
        { ip: '10.1.0.2', pod: 'web-2', zone: 'z1' },
      ]),
    });
    const t0 = Date.now();
    const s = collect(c.destination.get({ scheme: '', path: `web.${ns}.svc.cluster.local:80`, contextToken: JSON.stringify({ ns, nodeName: 'n1', pod: 'client' }) }));
    const add = await s.next('first add', (u) => isAdd(u) && addrs(u).length === 2);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(addrs(add)).toEqual(['10.1.0.1:8080', '10.1.0.2:8080']);
    if (add.update?.$case !== 'add') throw new Error('not an add');
    expect(add.update.value.metricLabels).toEqual({ namespace: ns, service: 'web' });
    const meshed = add.update.value.addrs.find((a) => text(a) === '10.1.0.1:8080');
    const plain = add.update.value.addrs.find((a) => text(a) === '10.1.0.2:8080');
    if (!meshed || !plain) throw new Error('both endpoints expected');
    expect(meshed.weight).toBe(10000);
    expect(plain.weight).toBe(10000);
    const id = `web.${ns}.serviceaccount.identity.trellis.cluster.local`;
    expect(meshed.tlsIdentity).toEqual({ strategy: { $case: 'dnsLikeIdentity', value: { name: id } }, serverName: { name: id } });
    expect(meshed.protocolHint).toEqual({ protocol: { $case: 'h2', value: {} }, opaqueTransport: { inboundPort: 4143 } });
    expect(meshed.http2?.keepAlive?.whileIdle).toBe(true);
    expect(meshed.metricLabels).toEqual({ pod: 'web-1', pod_template_hash: 'abc12', serviceaccount: 'web', control_plane_ns: 'trellis', zone: 'z1', zone_locality: 'unknown' });
    expect(plain.tlsIdentity).toBeUndefined();
    expect(plain.protocolHint).toBeUndefined();
    expect(plain.metricLabels).toMatchObject({ pod: 'web-2', serviceaccount: 'default', zone: 'z1' });
    expect(s.items).toHaveLength(1);
    // The watch caches keep no whole objects: the identity a relist is diffed by, and the slim record the
    // index holds (the same object, not a copy).
    const pods = d.watches.caches.find((w) => w.resource === '/api/v1/pods');
    const cached = pods?.get('web-1', ns) as { metadata?: unknown; record?: unknown } | undefined;
    expect(Object.keys(cached ?? {}).sort()).toEqual(['metadata', 'record']);
    expect(cached?.metadata).toEqual({ name: 'web-1', namespace: ns, resourceVersion: expect.any(String) as string });
    expect(cached?.record).toBe(d.index.pod(ns, 'web-1'));

    await k.discovery.replaceNamespacedEndpointSlice({ name: 'web-a', namespace: ns, body: slice('web-a', 'web', [{ name: 'http', port: 8080 }], [{ ip: '10.1.0.1', pod: 'web-1', zone: 'z1' }]) });
    const removed = await s.next('remove of web-2', isRemove);
    expect(addrs(removed)).toEqual(['10.1.0.2:8080']);

    await k.core.deleteNamespacedService({ name: 'web', namespace: ns });
    const gone = await s.next('remove of the rest', isRemove);
    expect(addrs(gone)).toEqual(['10.1.0.1:8080']);
    expect(s.items.filter((u) => u.update?.$case === 'noEndpoints')).toEqual([]);
    s.cancel();
  });

  it('resolves a named target port, skips not-ready endpoints and adds them once ready', async () => {
    await createService(kc, ns, 'api', [{ name: 'grpc', port: 9000, targetPort: 'app-grpc' }]);
    const body = (ready: boolean) => slice('api-a', 'api', [{ name: 'grpc', port: 7001 }], [
      { ip: '10.2.0.1' },
      { ip: '10.2.0.2', ready },
    ]);
    await k.discovery.createNamespacedEndpointSlice({ namespace: ns, body: body(false) });
    const s = collect(c.destination.get({ scheme: '', path: `api.${ns}.svc.cluster.local:9000`, contextToken: '' }));
    expect(addrs(await s.next('first add', isAdd))).toEqual(['10.2.0.1:7001']);
    await k.discovery.replaceNamespacedEndpointSlice({ name: 'api-a', namespace: ns, body: body(true) });
    expect(addrs(await s.next('second add', isAdd))).toEqual(['10.2.0.2:7001']);
    s.cancel();
  });

  it('filters a headless service to one StatefulSet instance by hostname', async () => {
    await createService(kc, ns, 'db', [{ name: 'pg', port: 5432, targetPort: 5432 }], { clusterIP: 'None' });
    await k.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice('db-a', 'db', [{ name: 'pg', port: 5432 }], [
        { ip: '10.3.0.1', hostname: 'db-0' },
        { ip: '10.3.0.2', hostname: 'db-1' },
      ]),
    });
    const s = collect(c.destination.get({ scheme: '', path: `db-1.db.${ns}.svc.cluster.local:5432`, contextToken: '' }));
    expect(addrs(await s.next('instance add', isAdd))).toEqual(['10.3.0.2:5432']);
    s.cancel();
  });

  it('keeps only endpoints hinted for the client zone, and honours internalTrafficPolicy Local', async () => {
    await k.core.createNode({ body: { metadata: { name: `${ns}-node-a`, labels: { 'topology.kubernetes.io/zone': 'zone-a' } } } });
    await createService(kc, ns, 'zoned', [{ name: 'http', port: 80, targetPort: 80 }]);
    await k.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice('zoned-a', 'zoned', [{ name: 'http', port: 80 }], [
        { ip: '10.4.0.1', zone: 'zone-a', hints: ['zone-a'] },
        { ip: '10.4.0.2', zone: 'zone-b', hints: ['zone-b'] },
      ]),
    });
    const token = JSON.stringify({ ns, nodeName: `${ns}-node-a` });
    const s = collect(c.destination.get({ scheme: '', path: `zoned.${ns}.svc.cluster.local`, contextToken: token }));
    const add = await s.next('zoned add', isAdd);
    expect(addrs(add)).toEqual(['10.4.0.1:80']);
    if (add.update?.$case === 'add') expect(add.update.value.addrs[0]?.metricLabels['zone_locality']).toBe('local');
    s.cancel();

    await createService(kc, ns, 'local', [{ name: 'http', port: 80, targetPort: 80 }], { internalTrafficPolicy: 'Local' });
    await k.discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice('local-a', 'local', [{ name: 'http', port: 80 }], [
        { ip: '10.5.0.1', nodeName: `${ns}-node-a` },
        { ip: '10.5.0.2', nodeName: 'elsewhere' },
      ]),
    });
    const l = collect(c.destination.get({ scheme: '', path: `local.${ns}.svc.cluster.local:80`, contextToken: token }));
    expect(addrs(await l.next('local add', isAdd))).toEqual(['10.5.0.1:80']);
    l.cancel();
  });

  it('rejects bad input with InvalidArgument or NotFound and keeps serving', async () => {
    const get = (path: string, contextToken = '') => streamError(c.destination.get({ scheme: '', path, contextToken }));
    expect((await get('10.0.0.1:80')).code).toBe(status.INVALID_ARGUMENT);
    expect((await get('example.com:80')).code).toBe(status.INVALID_ARGUMENT);
    expect((await get(`web.${ns}.svc.cluster.local:0`)).code).toBe(status.INVALID_ARGUMENT);
    expect((await get(`web.${ns}.svc.cluster.local:70000`)).code).toBe(status.INVALID_ARGUMENT);
    const missing = await get(`nope.${ns}.svc.cluster.local:80`);
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe(`Service nope.${ns} not found`);
    // A garbage context token is ignored, as Linkerd does: the stream is served.
    const s = collect(c.destination.get({ scheme: '', path: `api.${ns}.svc.cluster.local:9000`, contextToken: '{garbage' }));
    expect(addrs(await s.next('add despite garbage token', isAdd))).toEqual(['10.2.0.1:7001', '10.2.0.2:7001']);
    s.cancel();
  });
});
