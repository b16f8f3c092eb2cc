import { describe, expect, it } from 'vitest';
import { makeTarget, ProxyMetrics } from './proxy-metrics.ts';

describe('makeTarget', () => {
  it('renders the outbound label set in Linkerd order', () => {
    const t = makeTarget({ direction: 'outbound', ip: 'fd00::1', port: 80 });
    expect(t.addr).toBe('[fd00::1]:80');
    expect(t.httpLabels).toBe('direction="outbound",target_addr="[fd00::1]:80",target_ip="fd00::1",target_port="80",tls="no_identity",no_tls_reason="not_provided_by_service_discovery"');
  });

  it('labels the outbound accepted connection (the app on this pod) as loopback', () => {
    const t = makeTarget({ direction: 'outbound', ip: '10.0.0.1', port: 80 });
    expect(t.serverLabels).toBe('direction="outbound",target_addr="10.0.0.1:80",target_ip="10.0.0.1",target_port="80",tls="no_identity",no_tls_reason="loopback"');
  });

  it('labels inbound opaque ports as port_skipped, and the connection to the app as loopback', () => {
    const t = makeTarget({ direction: 'inbound', ip: '10.0.0.5', port: 3306, opaque: true });
    expect(t.serverLabels).toBe(
      'direction="inbound",target_addr="10.0.0.5:3306",target_ip="10.0.0.5",target_port="3306",tls="no_identity",no_tls_reason="port_skipped",srv_group="",srv_kind="default",srv_name="all-unauthenticated",srv_port="3306"',
    );
    expect(t.clientLabels).toContain('no_tls_reason="loopback"');
  });
});

describe('ProxyMetrics', () => {
  it('classifies gRPC failure codes and 5xx as failures', () => {
    const m = new ProxyMetrics();
    const e = m.endpoint('direction="outbound"');
    e.response(200, 14, '').total.inc();
    e.response(200, 5, '').total.inc();
    e.response(503, -1, '').total.inc();
    const text = m.render();
    expect(text).toContain('status_code="200",classification="failure",grpc_status="14",error=""} 1');
    expect(text).toContain('status_code="200",classification="success",grpc_status="5",error=""} 1');
    expect(text).toContain('status_code="503",classification="failure",grpc_status="",error=""} 1');
  });

  it('puts peer after direction in TCP labels', () => {
    const m = new ProxyMetrics();
    m.tcpFor('direction="inbound",target_addr="a"', 'src').open.inc();
    expect(m.render()).toContain('tcp_open_total{direction="inbound",peer="src",target_addr="a"} 1');
  });

  it('forgets the bundles of targets idle past the retention time', () => {
    const m = new ProxyMetrics();
    m.endpoint('direction="outbound",target_addr="a"').requests.inc();
    m.tcpFor('direction="outbound",target_addr="a"', 'dst').open.inc();
    m.sweep(0, 1000);
    m.sweep(1000, 1000);
    expect(m.bundles()).toEqual({ endpoints: 0, tcp: 0 });
    expect(m.render()).toBe('');
  });
});
