import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../config.ts';
import { ClusterIndex, topic } from '../index/cluster-index.ts';
import { podRecord, serviceRecord, sliceRecord } from '../index/model.ts';
import type { V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { selectEndpoints } from './endpoints.ts';
import { ownerLabel } from './weighted-addr.ts';

const cfg = defaultConfig();
const must = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Error('expected a value');
  return v;
};

function pod(name: string, ip: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string>; ports?: { name: string; containerPort: number }[]; owner?: { kind: string; name: string } } = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      labels: { app: 'web', 'linkerd.io/control-plane-ns': 'trellis', ...(extra.labels ?? {}) },
      annotations: extra.annotations ?? {},
      ...(extra.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: extra.owner.kind, name: extra.owner.name, uid: 'u', controller: true }] } : {}),
    },
    spec: {
      serviceAccountName: 'web',
      containers: [
        { name: 'app', image: 'a', ports: extra.ports ?? [] },
        { name: 'linkerd-proxy', image: 'p', env: [{ name: 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR', value: '0.0.0.0:4143' }] },
      ],
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

function slice(name: string, type: 'IPv4' | 'IPv6', port: { name: string; port: number }, eps: { ip: string; pod?: string; zone?: string; hints?: string[] }[]): V1EndpointSlice {
  return {
    metadata: { name, namespace: 'ns', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: type,
    ports: [port],
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: true },
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.hints ? { hints: { forZones: e.hints.map((z) => ({ name: z })) } } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod } } : {}),
    })),
  };
}

function indexWith(targetPort: number | string = 8080): ClusterIndex {
  const index = new ClusterIndex();
  index.upsertService(serviceRecord({ metadata: { name: 'web', namespace: 'ns' }, spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: targetPort as number }] } }));
  return index;
}

const q = { namespace: 'ns', name: 'web', port: 80, instance: undefined, clientNode: undefined };

describe('selectEndpoints', () => {
  it('prefers the IPv6 address of a dual-stack pod, and drops IPv6 when disabled', () => {
    const index = indexWith();
    index.upsertPod(podRecord(pod('a', '10.0.0.1')));
    index.upsertSlice(must(sliceRecord(slice('v4', 'IPv4', { name: 'http', port: 8080 }, [{ ip: '10.0.0.1', pod: 'a' }]))));
    index.upsertSlice(must(sliceRecord(slice('v6', 'IPv6', { name: 'http', port: 8080 }, [{ ip: 'fd00::1', pod: 'a' }]))));
    expect([...(selectEndpoints(cfg, index, q)?.keys() ?? [])]).toEqual(['[fd00::1]:8080']);
    expect([...(selectEndpoints(defaultConfig({ enableIPv6: false }), index, q)?.keys() ?? [])]).toEqual(['10.0.0.1:8080']);
  });

  it('resolves a named target port through the pod when the slice has no matching port name', () => {
    const index = indexWith('web-http');
    index.upsertPod(podRecord(pod('a', '10.0.0.1', { ports: [{ name: 'web-http', containerPort: 7070 }] })));
    index.upsertSlice(must(sliceRecord(slice('s', 'IPv4', { name: 'other', port: 1 }, [{ ip: '10.0.0.1', pod: 'a' }]))));
    expect([...(selectEndpoints(cfg, index, q)?.keys() ?? [])]).toEqual(['10.0.0.1:7070']);
  });

  it('falls back to every endpoint when no zone hint matches the client zone, and weighs local endpoints with ext zone weights', () => {
    const index = indexWith();
    index.upsertNode('n1', 'z9');
    index.upsertSlice(must(sliceRecord(slice('s', 'IPv4', { name: 'http', port: 8080 }, [{ ip: '10.0.0.1', zone: 'z1', hints: ['z1'] }, { ip: '10.0.0.2', zone: 'z2', hints: ['z2'] }]))));
    expect(selectEndpoints(cfg, index, { ...q, clientNode: 'n1' })?.size).toBe(2);
    index.upsertNode('n1', 'z1');
    const weighted = selectEndpoints(defaultConfig({ extEndpointZoneWeights: true }), index, { ...q, clientNode: 'n1' });
    expect([...(weighted?.values() ?? [])].map((w) => w.weight)).toEqual([100000]);
  });

  it('hints opaque for a port a Server marks opaque and leaves skipped inbound ports unmeshed', () => {
    const index = indexWith();
    index.upsertPod(podRecord(pod('a', '10.0.0.1')));
    index.upsertPod(podRecord(pod('b', '10.0.0.2', { annotations: { 'config.linkerd.io/skip-inbound-ports': '8080' } })));
    index.upsertSlice(must(sliceRecord(slice('s', 'IPv4', { name: 'http', port: 8080 }, [{ ip: '10.0.0.1', pod: 'a' }, { ip: '10.0.0.2', pod: 'b' }]))));
    index.upsertServer({ namespace: 'ns', name: 'srv', labels: {}, podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] }, port: 8080, proxyProtocol: 'opaque', accessPolicy: undefined });
    const eps = selectEndpoints(cfg, index, q);
    expect(eps?.get('10.0.0.1:8080')?.protocolHint).toEqual({ protocol: { $case: 'opaque', value: {} }, opaqueTransport: { inboundPort: 4143 } });
    expect(eps?.get('10.0.0.2:8080')?.protocolHint).toBeUndefined();
    expect(eps?.get('10.0.0.2:8080')?.tlsIdentity).toBeUndefined();
  });

  it('is undefined once the Service is gone', () => {
    const index = indexWith();
    index.deleteService('ns', 'web');
    expect(selectEndpoints(cfg, index, q)).toBeUndefined();
  });
});

describe('ClusterIndex topics', () => {
  it('tells subscribers of a Service when a Pod behind its slices changes, and stops after unsubscribe', () => {
    const index = indexWith();
    index.upsertSlice(must(sliceRecord(slice('s', 'IPv4', { name: 'http', port: 8080 }, [{ ip: '10.0.0.1', pod: 'a' }]))));
    let calls = 0;
    const off = index.subscribe([topic.service('ns', 'web')], () => calls++);
    index.upsertPod(podRecord(pod('a', '10.0.0.1')));
    index.upsertPod(podRecord(pod('unrelated', '10.0.0.9')));
    expect(calls).toBe(1);
    off();
    index.upsertPod(podRecord(pod('a', '10.0.0.1')));
    expect(calls).toBe(1);
  });
});

describe('ownerLabel', () => {
  it('names the Deployment behind a ReplicaSet, k8s_job for Jobs, and the pod itself without an owner', () => {
    expect(ownerLabel(podRecord(pod('a', '1.1.1.1', { labels: { 'pod-template-hash': '5d8f' }, owner: { kind: 'ReplicaSet', name: 'web-5d8f' } })))).toEqual(['deployment', 'web']);
    expect(ownerLabel(podRecord(pod('a', '1.1.1.1', { owner: { kind: 'Job', name: 'batch' } })))).toEqual(['k8s_job', 'batch']);
    expect(ownerLabel(podRecord(pod('a', '1.1.1.1', { owner: { kind: 'StatefulSet', name: 'db' } })))).toEqual(['statefulset', 'db']);
    expect(ownerLabel(podRecord(pod('a', '1.1.1.1')))).toEqual(['pod', 'a']);
  });
});
