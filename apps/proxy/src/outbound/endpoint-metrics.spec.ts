import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../discovery/endpoints.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { OutboundEndpointMetrics, outboundEndpointLabels } from './endpoint-metrics.ts';

const endpoint = (over: Partial<Endpoint> = {}): Endpoint => ({
  addr: '10.1.0.7:8080',
  ip: '10.1.0.7',
  port: 8080,
  weight: 1,
  labels: { service: 'books', namespace: 'default', 'pod-template-hash': 'abc' },
  identity: 'books.default.serviceaccount.identity.linkerd.cluster.local',
  serverName: undefined,
  hint: 'h2',
  opaqueTransportPort: undefined,
  authorityOverride: undefined,
  fingerprint: '',
  ...over,
});

describe('outboundEndpointLabels', () => {
  it('renders the endpoint, tls="true" with server_id, then the dst_ labels sorted', () => {
    expect(outboundEndpointLabels(endpoint(), false)).toBe(
      'direction="outbound",target_addr="10.1.0.7:8080",target_ip="10.1.0.7",target_port="8080",tls="true",server_id="books.default.serviceaccount.identity.linkerd.cluster.local",dst_namespace="default",dst_pod_template_hash="abc",dst_service="books"',
    );
  });

  it('puts the name an endpoint was discovered by in authority, after direction, as Linkerd does', () => {
    expect(outboundEndpointLabels(endpoint({ authority: 'books.default.svc.cluster.local:8080', labels: {} }), false)).toMatch(
      /^direction="outbound",authority="books\.default\.svc\.cluster\.local:8080",target_addr="10\.1\.0\.7:8080",/,
    );
  });

  it('says why there is no TLS: no identity from discovery, or our own pod', () => {
    expect(outboundEndpointLabels(endpoint({ identity: undefined, labels: {} }), false)).toContain('tls="no_identity",no_tls_reason="not_provided_by_service_discovery"');
    expect(outboundEndpointLabels(endpoint({ labels: {} }), true)).toContain('tls="no_identity",no_tls_reason="loopback"');
    expect(outboundEndpointLabels(endpoint({ ip: 'fd00::7', port: 80, labels: {} }), false)).toContain('target_addr="[fd00::7]:80",target_ip="fd00::7"');
  });
});

describe('OutboundEndpointMetrics', () => {
  it('counts requests again after the sweep evicted the endpoint series', () => {
    const m = new ProxyMetrics();
    const em = new OutboundEndpointMetrics(m, () => false);
    const e = endpoint();
    em.http(e).requests.inc();
    m.sweep(0, 1000);
    m.sweep(1000, 1000);
    expect(m.render()).toBe('');
    em.http(e).requests.inc();
    expect(m.render()).toContain('request_total{direction="outbound",target_addr="10.1.0.7:8080"');
    expect(m.render()).toMatch(/request_total\{[^}]*dst_service="books"\} 1/);
  });

  it('counts connections opened to an endpoint as peer="dst"', () => {
    const m = new ProxyMetrics();
    new OutboundEndpointMetrics(m, () => false).track(endpoint(), new Socket());
    expect(m.render()).toMatch(/tcp_open_total\{direction="outbound",peer="dst",target_addr="10.1.0.7:8080",[^}]*tls="true",server_id="books[^}]*\} 1/);
  });
});
