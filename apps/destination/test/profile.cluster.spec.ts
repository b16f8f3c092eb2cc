// Destination.GetProfile against the real API server: by name, by cluster IP, by pod IP and instance;
// ServiceProfile create/update/delete; client-namespace-first lookup; opaque ports; bad input.
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
let clientNs = '';
let clusterIP = '';

const sp = (namespace: string, name: string, spec: object) => ({ apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name, namespace }, spec });
const routeNames = (p: destination.DestinationProfile) => p.routes.map((r) => r.metricsLabels['route']);

beforeAll(async () => {
  await installCrds(kc);
  ns = await createNamespace(kc, 'dst-prof');
  clientNs = await createNamespace(kc, 'dst-client');
  d = await startTestDestination(kc);
  c = clients(d);
  const svc = await createService(kc, ns, 'books', [{ name: 'http', port: 7000, targetPort: 7000 }, { name: 'mysql', port: 3306, targetPort: 3306 }]);
  clusterIP = svc.spec?.clusterIP ?? '';
  await createPod(kc, ns, 'books-0', '10.20.0.1', { meshed: true, serviceAccount: 'books', annotations: { 'config.linkerd.io/opaque-ports': '9999' } });
  await k.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice('books-a', 'books', [{ name: 'http', port: 7000 }], [{ ip: '10.20.0.1', pod: 'books-0', hostname: 'books-0' }]) });
});

afterAll(async () => {
  await d?.close();
});

describe('Destination.GetProfile', () => {
  it('serves the default profile by name, then follows a ServiceProfile being created, updated and deleted', async () => {
    const fqn = `books.${ns}.svc.cluster.local`;
    const s = collect(c.destination.getProfile({ scheme: '', path: `${fqn}:7000`, contextToken: '' }));
    const first = await s.next('default profile');
    expect(first).toMatchObject({ routes: [], dstOverrides: [], opaqueProtocol: false, fullyQualifiedName: fqn, profileRef: undefined });
    expect(first.retryBudget).toEqual({ retryRatio: expect.closeTo(0.2, 5) as number, minRetriesPerSecond: 10, ttl: { seconds: 10n, nanos: 0 } });
    expect(first.parentRef).toEqual({ kind: { $case: 'resource', value: { group: 'core', kind: 'Service', name: 'books', namespace: ns, section: '', port: 7000 } } });

    await k.custom.createNamespacedCustomObject({
      group: 'linkerd.io', version: 'v1alpha2', namespace: ns, plural: 'serviceprofiles',
      body: sp(ns, fqn, { routes: [{ name: 'list', condition: { method: 'GET', pathRegex: '/books' }, isRetryable: true }], dstOverrides: [{ authority: `books-v2.${ns}.svc.cluster.local`, weight: '500m' }] }),
    });
    const withSp = await s.next('profile with routes', (p) => p.routes.length === 1);
    expect(routeNames(withSp)).toEqual(['list']);
    expect(withSp.routes[0]?.isRetryable).toBe(true);
    expect(withSp.dstOverrides).toEqual([{ authority: `books-v2.${ns}.svc.cluster.local:7000`, weight: 5000, backendRef: undefined }]);
    expect(withSp.profileRef).toEqual({ kind: { $case: 'resource', value: { group: 'linkerd.io', kind: 'ServiceProfile', name: fqn, namespace: ns, section: '', port: 0 } } });

    const current = (await k.custom.getNamespacedCustomObject({ group: 'linkerd.io', version: 'v1alpha2', namespace: ns, plural: 'serviceprofiles', name: fqn })) as { metadata: object };
    await k.custom.replaceNamespacedCustomObject({
      group: 'linkerd.io', version: 'v1alpha2', namespace: ns, plural: 'serviceprofiles', name: fqn,
      body: { ...sp(ns, fqn, { routes: [{ name: 'list', condition: { method: 'GET' } }, { name: 'add', condition: { method: 'POST' } }] }), metadata: current.metadata },
    });
    expect(routeNames(await s.next('updated profile', (p) => p.routes.length === 2))).toEqual(['list', 'add']);

    await k.custom.deleteNamespacedCustomObject({ group: 'linkerd.io', version: 'v1alpha2', namespace: ns, plural: 'serviceprofiles', name: fqn });
    const back = await s.next('default again', (p) => p.routes.length === 0);
    expect(back.profileRef).toBeUndefined();
    s.cancel();
  });

  it("prefers a ServiceProfile in the client's namespace", async () => {
    const fqn = `books.${ns}.svc.cluster.local`;
    await k.custom.createNamespacedCustomObject({ group: 'linkerd.io', version: 'v1alpha2', namespace: clientNs, plural: 'serviceprofiles', body: sp(clientNs, fqn, { routes: [{ name: 'client-side', condition: { method: 'GET' } }] }) });
    const s = collect(c.destination.getProfile({ scheme: '', path: `${fqn}:7000`, contextToken: JSON.stringify({ ns: clientNs }) }));
    expect(routeNames(await s.next('client profile', (p) => p.routes.length === 1))).toEqual(['client-side']);
    s.cancel();
    const other = collect(c.destination.getProfile({ scheme: '', path: `${fqn}:7000`, contextToken: '' }));
    expect((await other.next('service-namespace profile')).routes).toEqual([]);
    other.cancel();
  });

  it('serves the service profile by cluster IP, with opaque_protocol on a default opaque port', async () => {
    const s = collect(c.destination.getProfile({ scheme: '', path: `${clusterIP}:3306`, contextToken: '' }));
    const p = await s.next('profile by cluster IP');
    expect(p.fullyQualifiedName).toBe(`books.${ns}.svc.cluster.local`);
    expect(p.opaqueProtocol).toBe(true);
    s.cancel();
  });

  it('serves an endpoint profile by pod IP and by instance name, with identity, labels and pod opaque ports', async () => {
    const s = collect(c.destination.getProfile({ scheme: '', path: '10.20.0.1:9999', contextToken: '' }));
    const p = await s.next('endpoint profile');
    expect(p.fullyQualifiedName).toBe('');
    expect(p.opaqueProtocol).toBe(true);
    expect(p.endpoint?.addr && tcpAddressToString(p.endpoint.addr)).toBe('10.20.0.1:9999');
    expect(p.endpoint?.metricLabels).toMatchObject({ namespace: ns, pod: 'books-0', serviceaccount: 'books' });
    expect(p.endpoint?.tlsIdentity?.strategy).toEqual({ $case: 'dnsLikeIdentity', value: { name: `books.${ns}.serviceaccount.identity.trellis.cluster.local` } });
    expect(p.endpoint?.protocolHint?.protocol?.$case).toBe('opaque');
    s.cancel();

    const byName = collect(c.destination.getProfile({ scheme: '', path: `books-0.books.${ns}.svc.cluster.local:7000`, contextToken: '' }));
    const q = await byName.next('instance profile');
    expect(q.endpoint?.addr && tcpAddressToString(q.endpoint.addr)).toBe('10.20.0.1:7000');
    expect(q.endpoint?.protocolHint?.protocol?.$case).toBe('h2');
    byName.cancel();

    const unknown = collect(c.destination.getProfile({ scheme: '', path: '192.0.2.50:80', contextToken: '' }));
    const u = await unknown.next('unknown IP profile');
    expect(u.endpoint).toMatchObject({ weight: 10000, metricLabels: {}, tlsIdentity: undefined });
    unknown.cancel();
  });

  it('rejects names outside the cluster domain and unknown services', async () => {
    const get = (path: string) => streamError(c.destination.getProfile({ scheme: '', path, contextToken: '' }));
    expect((await get('example.com:80')).code).toBe(status.INVALID_ARGUMENT);
    expect((await get('10.0.0.1:0')).code).toBe(status.INVALID_ARGUMENT);
    expect((await get(`nope.${ns}.svc.cluster.local:80`)).code).toBe(status.NOT_FOUND);
  });
});
