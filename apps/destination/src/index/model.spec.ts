import { describe, expect, it } from 'vitest';
import { podRecord, selectorMatches, serviceRecord, sliceRecord } from './model.ts';
import { slim } from './watches.ts';

describe('slim records', () => {
  it('keeps what discovery and policy read from a Pod', () => {
    const rec = podRecord({
      metadata: {
        name: 'web-5d8f-x',
        namespace: 'shop',
        labels: { app: 'web', 'linkerd.io/control-plane-ns': 'trellis', 'pod-template-hash': '5d8f' },
        annotations: { 'config.linkerd.io/opaque-ports': '3306', 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(10_000) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'u', controller: true }],
      },
      spec: {
        nodeName: 'n1',
        serviceAccountName: 'web',
        containers: [
          { name: 'app', image: 'a', ports: [{ name: 'http', containerPort: 8080 }], livenessProbe: { httpGet: { path: '/live', port: 'http' as unknown as number } }, readinessProbe: { tcpSocket: { port: 8080 as unknown as number } } },
          { name: 'linkerd-proxy', image: 'p', env: [{ name: 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR', value: '[::]:4143' }] },
        ],
      },
      status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], hostIP: '192.0.2.1' },
    });
    expect(rec).toMatchObject({
      name: 'web-5d8f-x',
      ips: ['10.0.0.1', 'fd00::1'],
      running: true,
      nodeName: 'n1',
      serviceAccount: 'web',
      controlPlaneNs: 'trellis',
      ownerKind: 'ReplicaSet',
      ownerName: 'web-5d8f',
      opaquePorts: '3306',
      proxyInboundPort: 4143,
      containerPorts: [{ name: 'http', port: 8080, hostPort: undefined }],
      probes: [{ port: 'http', path: '/live' }],
    });
    expect(JSON.stringify(rec)).not.toContain('last-applied');
  });

  it('reads Service ports with numeric and named target ports, and skips headless cluster IPs', () => {
    const rec = serviceRecord({ metadata: { name: 's', namespace: 'n' }, spec: { clusterIP: 'None', ports: [{ name: 'a', port: 80, targetPort: 'web' as unknown as number }, { port: 81 }] } });
    expect(rec.clusterIPs).toEqual([]);
    expect(rec.ports).toEqual([{ name: 'a', port: 80, targetPort: 'web', appProtocol: '' }, { name: '', port: 81, targetPort: 81, appProtocol: '' }]);
  });

  it('ignores a slice without a service-name label and counts unknown readiness as ready', () => {
    expect(sliceRecord({ metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [] })).toBeUndefined();
    const rec = sliceRecord({ metadata: { name: 'x', namespace: 'n', labels: { 'kubernetes.io/service-name': 's' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }] });
    expect(rec?.endpoints[0]?.ready).toBe(true);
  });

  it('matches label selectors as Kubernetes does', () => {
    const sel = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'canary', operator: 'DoesNotExist', values: [] }] };
    expect(selectorMatches(sel, { app: 'web', tier: 'a' })).toBe(true);
    expect(selectorMatches(sel, { app: 'web', tier: 'c' })).toBe(false);
    expect(selectorMatches(sel, { app: 'web', tier: 'a', canary: '' })).toBe(false);
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [] }, {})).toBe(true);
  });

  it('keeps only the record of a watched object, not the object', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n', resourceVersion: '7', labels: { a: 'b' } }, spec: { containers: [] } };
    const kept = slim(podRecord(pod));
    expect(Object.keys(kept)).toEqual(['record']);
    expect(kept.record).toMatchObject({ name: 'p', namespace: 'n', labels: { a: 'b' } });
    expect(JSON.stringify(kept)).not.toContain('containers');
  });
});
