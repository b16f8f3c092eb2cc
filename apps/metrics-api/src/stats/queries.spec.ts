import { describe, expect, it } from 'vitest';
import { edgesQuery, selector, statQueries } from './queries.ts';

const base = { window: '1m', adminPort: 4191 } as const;

describe('statQueries', () => {
  it('reads deployments from their own inbound series, leaving out the admin port, grouped by namespace and deployment', () => {
    const q = statQueries({ ...base, target: { type: 'deployment', namespace: 'emojivoto' } });
    expect(q.groupBy).toEqual(['namespace', 'deployment']);
    expect(q.responses).toBe('sum(increase(response_total{namespace="emojivoto",direction="inbound",target_port!="4191"}[1m])) by (namespace, deployment, classification, tls)');
    expect(q.latency.p95).toBe('histogram_quantile(0.95, sum(irate(response_latency_ms_bucket{namespace="emojivoto",direction="inbound",target_port!="4191"}[1m])) by (le, namespace, deployment))');
    expect(q.tcpConnections).toBe('sum(tcp_open_connections{namespace="emojivoto",direction="inbound",target_port!="4191",peer="src"}) by (namespace, deployment)');
    expect(q.tcpReadBytes).toBe('sum(increase(tcp_read_bytes_total{namespace="emojivoto",direction="inbound",target_port!="4191",peer="src"}[1m])) by (namespace, deployment)');
  });

  it('names one object, and uses k8s_job for Jobs (job is the scrape job)', () => {
    expect(statQueries({ ...base, target: { type: 'job', name: 'migrate', namespace: 'db' } }).responses).toContain('{k8s_job="migrate",namespace="db",direction="inbound",');
    expect(statQueries({ ...base, target: { type: 'job', namespace: 'db' } }).groupBy).toEqual(['namespace', 'k8s_job']);
  });

  it('groups namespaces by their namespace label only', () => {
    const q = statQueries({ ...base, target: { type: 'namespace', name: 'emojivoto' } });
    expect(q.groupBy).toEqual(['namespace']);
    expect(q.responses).toBe('sum(increase(response_total{namespace="emojivoto",direction="inbound",target_port!="4191"}[1m])) by (namespace, classification, tls)');
  });

  it('reads services and authorities from their clients\' outbound series', () => {
    const svc = statQueries({ ...base, target: { type: 'service', name: 'web-svc', namespace: 'emojivoto' } });
    expect(svc.groupBy).toEqual(['dst_namespace', 'dst_service']);
    expect(svc.responses).toBe('sum(increase(response_total{dst_service="web-svc",dst_namespace="emojivoto",direction="outbound"}[1m])) by (dst_namespace, dst_service, classification, tls)');
    expect(svc.tcpConnections).toContain('peer="dst"');
    const au = statQueries({ ...base, target: { type: 'authority', namespace: 'emojivoto' } });
    expect(au.groupBy).toEqual(['dst_namespace', 'authority']);
    expect(au.responses).toBe('sum(increase(response_total{dst_namespace="emojivoto",direction="outbound",authority!=""}[1m])) by (dst_namespace, authority, classification, tls)');
  });

  it('with a "to" resource reads the target\'s outbound series towards it; with "from", the source\'s towards the target', () => {
    const to = statQueries({ ...base, target: { type: 'deployment', name: 'web', namespace: 'emojivoto' }, to: { type: 'deployment', name: 'voting', namespace: 'emojivoto' } });
    expect(to.groupBy).toEqual(['namespace', 'deployment']);
    expect(to.responses).toContain('{deployment="web",namespace="emojivoto",dst_deployment="voting",dst_namespace="emojivoto",direction="outbound"}');
    const from = statQueries({ ...base, target: { type: 'deployment', namespace: 'emojivoto' }, from: { type: 'deployment', name: 'web', namespace: 'emojivoto' } });
    expect(from.groupBy).toEqual(['dst_namespace', 'dst_deployment']);
    expect(from.responses).toContain('{deployment="web",namespace="emojivoto",dst_namespace="emojivoto",direction="outbound"}');
    expect(from.tcpConnections).toContain('peer="dst"');
  });

  it('takes the admin port it is given', () => {
    expect(statQueries({ ...base, adminPort: 9999, target: { type: 'pod' } }).responses).toContain('target_port!="9999"');
  });
});

describe('selector', () => {
  it('escapes values as PromQL strings', () => {
    expect(selector([{ label: 'authority', op: '=', value: 'a"b\\c' }])).toBe('{authority="a\\"b\\\\c"}');
  });
});

describe('edgesQuery', () => {
  it('sums open outbound connections between named workloads by both ends and their TLS labels', () => {
    expect(edgesQuery('deployment').query).toBe(
      'sum(tcp_open_connections{direction="outbound",deployment!="",dst_deployment!=""}) by (deployment, dst_deployment, pod, namespace, dst_namespace, server_id, tls, no_tls_reason)',
    );
    expect(edgesQuery('namespace').query).toBe(
      'sum(tcp_open_connections{direction="outbound",namespace!="",dst_namespace!=""}) by (namespace, dst_namespace, pod, server_id, tls, no_tls_reason)',
    );
  });
});
