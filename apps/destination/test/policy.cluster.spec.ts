// The policy API (8090) against the real API server: default inbound policies from the cluster, the
// namespace and the pod; probe routes; opaque and require-identity ports; a Server; outbound policies
// for a service, a cluster IP, an opaque port, an undeclared port and an address outside the cluster.
import { status, type ServiceError } from '@grpc/grpc-js';
import { loadKubeConfig } from '@trellis/k8s';
import { ipNetworkToString, tcpAddress, type inbound, type outbound } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Destination } from '../src/app.ts';
import { api, clients, collect, createNamespace, createPod, createService, installCrds, startTestDestination } from './harness.ts';

const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
const k = api(kc);
let d: Destination;
let c: ReturnType<typeof clients>;
let ns = '';
let strictNs = '';
let clusterIP = '';

function getPort(ns: string, pod: string, port: number): Promise<inbound.Server> {
  return new Promise((resolve, reject) => c.inbound.getPort({ workload: JSON.stringify({ ns, pod }), port }, (err, res) => (err ? reject(err) : resolve(res))));
}
function getPortError(workload: string, port: number): Promise<ServiceError> {
  return new Promise((resolve, reject) => c.inbound.getPort({ workload, port }, (err) => (err ? resolve(err) : reject(new Error('expected an error')))));
}
function outboundGet(spec: outbound.TrafficSpec): Promise<outbound.OutboundPolicy> {
  return new Promise((resolve, reject) => c.outbound.get(spec, (err, res) => (err ? reject(err) : resolve(res))));
}
const nets = (a: inbound.Authz | undefined) => (a?.networks ?? []).map((n) => (n.net ? ipNetworkToString(n.net) : ''));
const metaName = (m: { kind?: { $case: string; value: unknown } } | undefined) => (m?.kind?.$case === 'default' ? m.kind.value : m?.kind?.value);

beforeAll(async () => {
  await installCrds(kc);
  ns = await createNamespace(kc, 'dst-pol');
  strictNs = await createNamespace(kc, 'dst-strict', { 'config.linkerd.io/default-inbound-policy': 'cluster-authenticated' });
  d = await startTestDestination(kc);
  c = clients(d);
  await createPod(kc, ns, 'plain', '10.30.0.1', { meshed: true });
  await createPod(kc, ns, 'probed', '10.30.0.2', {
    meshed: true,
    ports: [{ name: 'http', containerPort: 8080 }],
    probePaths: [{ port: 8080, path: '/live' }, { port: 'http', path: '/ready' }],
    annotations: { 'config.linkerd.io/opaque-ports': '5000', 'config.linkerd.io/proxy-require-identity-inbound-ports': '9000' },
  });
  await createPod(kc, ns, 'denied', '10.30.0.3', { meshed: true, annotations: { 'config.linkerd.io/default-inbound-policy': 'deny' } });
  await createPod(kc, ns, 'served', '10.30.0.4', { meshed: true, labels: { app: 'db' } });
  await createPod(kc, strictNs, 'strict', '10.30.0.5', { meshed: true });
  const svc = await createService(kc, ns, 'shop', [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'mysql', port: 3306, targetPort: 3306 }]);
  clusterIP = svc.spec?.clusterIP ?? '';
});

afterAll(async () => {
  await d?.close();
});

describe('InboundServerPolicies', () => {
  it('serves the cluster default (all-unauthenticated) with detect and the default route', async () => {
    const s = await getPort(ns, 'plain', 8080);
    expect(s.labels).toEqual({ group: '', kind: 'default', name: 'all-unauthenticated' });
    expect(s.authorizations).toHaveLength(1);
    expect(nets(s.authorizations[0])).toEqual(['0.0.0.0/0', '::/0']);
    expect(s.authorizations[0]?.authentication?.permit?.$case).toBe('unauthenticated');
    if (s.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
    expect(s.protocol.kind.value.timeout).toEqual({ seconds: 10n, nanos: 0 });
    expect(s.protocol.kind.value.httpRoutes.map((r) => metaName(r.metadata))).toEqual(['default']);
  });

  it("uses the namespace's annotation, and the pod's over it", async () => {
    const strict = await getPort(strictNs, 'strict', 80);
    expect(strict.labels['name']).toBe('cluster-authenticated');
    expect(nets(strict.authorizations[0])).toContain('10.0.0.0/8');
    expect(strict.authorizations[0]?.authentication?.permit?.$case).toBe('meshTLS');
    const denied = await getPort(ns, 'denied', 80);
    expect(denied.labels['name']).toBe('deny');
    expect(denied.authorizations).toEqual([]);
  });

  it('adds a probe route for the HTTP probes on the port, authorized from the probe networks', async () => {
    const s = await getPort(ns, 'probed', 8080);
    if (s.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
    const probe = s.protocol.kind.value.httpRoutes.find((r) => metaName(r.metadata) === 'probe');
    expect(probe?.rules[0]?.matches.map((m) => m.path?.kind)).toEqual([{ $case: 'exact', value: '/live' }, { $case: 'exact', value: '/ready' }]);
    expect(probe?.rules[0]?.matches[0]?.method).toEqual({ type: { $case: 'registered', value: 0 } });
    expect(metaName(probe?.authorizations[0]?.metadata)).toBe('probe');
    const other = await getPort(ns, 'probed', 8081);
    if (other.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
    expect(other.protocol.kind.value.httpRoutes).toHaveLength(1);
  });

  it('marks opaque ports opaque and requires identity on require-identity ports', async () => {
    expect((await getPort(ns, 'probed', 5000)).protocol?.kind?.$case).toBe('opaque');
    const strict = await getPort(ns, 'probed', 9000);
    expect(strict.labels['name']).toBe('all-authenticated');
    expect(strict.authorizations[0]?.authentication?.permit?.$case).toBe('meshTLS');
  });

  it('follows a Server that selects the port, and streams the change on WatchPort', async () => {
    const w = collect(c.inbound.watchPort({ workload: JSON.stringify({ ns, pod: 'served' }), port: 5432 }));
    expect((await w.next('initial policy')).labels['kind']).toBe('default');
    await k.custom.createNamespacedCustomObject({
      group: 'policy.linkerd.io', version: 'v1beta3', namespace: ns, plural: 'servers',
      body: { apiVersion: 'policy.linkerd.io/v1beta3', kind: 'Server', metadata: { name: 'db' }, spec: { podSelector: { matchLabels: { app: 'db' } }, port: 5432, proxyProtocol: 'opaque' } },
    });
    const updated = await w.next('server policy', (s) => s.labels['kind'] === 'server');
    expect(updated.labels).toEqual({ group: 'policy.linkerd.io', kind: 'server', name: 'db' });
    expect(updated.protocol?.kind?.$case).toBe('opaque');
    expect(updated.authorizations).toEqual([]);
    w.cancel();
  });

  it('rejects a bad workload or port and reports an unknown pod', async () => {
    expect((await getPortError('not a workload', 80)).code).toBe(status.INVALID_ARGUMENT);
    expect((await getPortError(JSON.stringify({ ns, pod: 'plain' }), 0)).code).toBe(status.INVALID_ARGUMENT);
    expect((await getPortError(JSON.stringify({ ns, pod: 'plain' }), 70000)).code).toBe(status.INVALID_ARGUMENT);
    expect((await getPortError(JSON.stringify({ ns, pod: 'ghost' }), 80)).code).toBe(status.NOT_FOUND);
  });
});

describe('OutboundPolicies', () => {
  it('serves the default service policy by authority and by cluster IP', async () => {
    for (const target of [{ $case: 'authority' as const, value: `shop.${ns}.svc.cluster.local:80` }, { $case: 'addr' as const, value: tcpAddress(clusterIP, 80) }]) {
      const p = await outboundGet({ sourceWorkload: JSON.stringify({ ns, pod: 'plain' }), target });
      expect(p.metadata).toEqual({ kind: { $case: 'resource', value: { group: 'core', kind: 'Service', name: 'shop', namespace: ns, section: '', port: 80 } } });
      if (p.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
      const http = p.protocol.kind.value.http1?.routes[0];
      expect(metaName(http?.metadata)).toBe('http');
      expect(metaName(p.protocol.kind.value.opaque?.routes[0]?.metadata)).toBe('opaq');
      const dist = http?.rules[0]?.backends?.kind;
      if (dist?.$case !== 'firstAvailable') throw new Error('expected firstAvailable');
      const backend = dist.value.backends[0]?.backend;
      expect(backend?.queue).toEqual({ capacity: 100, failfastTimeout: { seconds: 3n, nanos: 0 } });
      expect(backend?.kind).toEqual({
        $case: 'balancer',
        value: {
          discovery: { kind: { $case: 'dst', value: { path: `shop.${ns}.svc.cluster.local:80` } } },
          load: { $case: 'peakEwma', value: { defaultRtt: { seconds: 0n, nanos: 30_000_000 }, decay: { seconds: 10n, nanos: 0 } } },
        },
      });
    }
  });

  it('serves an opaque route on an opaque port and the undefined-port policy on an undeclared one', async () => {
    const opaque = await outboundGet({ sourceWorkload: '', target: { $case: 'addr', value: tcpAddress(clusterIP, 3306) } });
    expect(opaque.protocol?.kind?.$case).toBe('opaque');
    const undefinedPort = await outboundGet({ sourceWorkload: '', target: { $case: 'addr', value: tcpAddress(clusterIP, 81) } });
    expect(metaName(undefinedPort.metadata)).toBe('undefined-port');
  });

  it('falls back to forwarding for an address outside the cluster and reports unknown targets', async () => {
    const p = await outboundGet({ sourceWorkload: '', target: { $case: 'addr', value: tcpAddress('192.0.2.10', 443) } });
    expect(metaName(p.metadata)).toBe('egress-fallback');
    if (p.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
    const dist = p.protocol.kind.value.opaque?.routes[0]?.rules[0]?.backends?.kind;
    if (dist?.$case !== 'firstAvailable') throw new Error('expected firstAvailable');
    const fwd = dist.value.backends[0]?.backend?.kind;
    expect(fwd?.$case).toBe('forward');
    if (fwd?.$case === 'forward') expect(fwd.value.weight).toBe(1);
    const err = (spec: outbound.TrafficSpec) => outboundGet(spec).then(() => undefined, (e: ServiceError) => e.code);
    expect(await err({ sourceWorkload: '', target: { $case: 'addr', value: tcpAddress('10.30.0.1', 8080) } })).toBe(status.NOT_FOUND);
    expect(await err({ sourceWorkload: '', target: { $case: 'authority', value: `nope.${ns}.svc.cluster.local:80` } })).toBe(status.NOT_FOUND);
    expect(await err({ sourceWorkload: '', target: { $case: 'authority', value: 'example.com:80' } })).toBe(status.NOT_FOUND);
  });
});
