import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '@trellis/telemetry';
import { histogramQuantile, renderStatTable, rowFromApi, statRow } from './stat.ts';

const LE = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000];

/** A proxy's exposition: inbound requests, of which `failed` failed, latencies `fast` in (0,1] ms and `slow` in (5,10]. */
function metrics(o: { requests: number; failed: number; fast: number; slow: number; conns: number; outbound?: number }): string {
  const l = 'direction="inbound",authority="voting-svc.emojivoto:8080",tls="true"';
  const lines = [
    `request_total{${l}} ${o.requests}`,
    `response_total{${l},status_code="200",classification="success",grpc_status="0",error=""} ${o.requests - o.failed}`,
    `response_total{${l},status_code="200",classification="failure",grpc_status="2",error=""} ${o.failed}`,
    `tcp_open_connections{direction="inbound",peer="src",tls="true"} ${o.conns}`,
    // Outbound traffic of the same pod is not the resource's own and must not count.
    `request_total{direction="outbound",authority="x"} ${o.outbound ?? 0}`,
    `response_total{direction="outbound",authority="x",classification="failure"} ${o.outbound ?? 0}`,
  ];
  for (const le of LE) lines.push(`response_latency_ms_bucket{${l},le="${le}"} ${le >= 10 ? o.fast + o.slow : le >= 1 ? o.fast : 0}`);
  lines.push(`response_latency_ms_bucket{${l},le="+Inf"} ${o.fast + o.slow}`);
  return lines.join('\n');
}

describe('histogramQuantile', () => {
  it('interpolates inside the bucket the rank falls in, as Prometheus does', () => {
    const h = new Map([[1, 0], [10, 100], [Infinity, 100]]);
    expect(histogramQuantile(0.5, h)).toBe(5.5);
    expect(histogramQuantile(0.99, h)).toBeCloseTo(9.91);
    expect(histogramQuantile(0.5, new Map([[Infinity, 0]]))).toBeUndefined();
  });
});

describe('statRow', () => {
  it('counts the window: success rate, requests per second, latency percentiles, open connections', () => {
    const before = parsePrometheusText(metrics({ requests: 100, failed: 10, fast: 100, slow: 0, conns: 3, outbound: 50 }));
    const after = parsePrometheusText(metrics({ requests: 300, failed: 60, fast: 200, slow: 100, conns: 4, outbound: 500 }));
    const row = statRow('voting', 1, [{ before, after }], 10);
    expect(row.successRate).toBe(0.75);
    expect(row.rps).toBe(20);
    expect(row.tcpConnections).toBe(4);
    // 100 fast (<=1 ms) and 100 slow (5-10 ms) in the window: the median sits at the fast bucket's top.
    expect(row.latencyMs?.p50).toBe(1);
    expect(row.latencyMs?.p95).toBeCloseTo(9.5);
    expect(row.latencyMs?.p99).toBeCloseTo(9.9);
  });

  it('adds up the pods of a workload and counts a restarted proxy from zero', () => {
    const a = { before: parsePrometheusText(metrics({ requests: 10, failed: 0, fast: 10, slow: 0, conns: 1 })), after: parsePrometheusText(metrics({ requests: 30, failed: 0, fast: 30, slow: 0, conns: 1 })) };
    const restarted = { before: parsePrometheusText(metrics({ requests: 500, failed: 0, fast: 500, slow: 0, conns: 1 })), after: parsePrometheusText(metrics({ requests: 20, failed: 20, fast: 20, slow: 0, conns: 2 })) };
    const row = statRow('web', 3, [a, restarted], 2);
    expect(row).toMatchObject({ meshed: 2, pods: 3, rps: 20, successRate: 0.5, tcpConnections: 3 });
  });

  it('leaves the traffic columns empty when the window saw no request, and everything when nothing is meshed', () => {
    const idle = parsePrometheusText(metrics({ requests: 5, failed: 0, fast: 5, slow: 0, conns: 0 }));
    expect(statRow('emoji', 1, [{ before: idle, after: idle }], 10)).toEqual({ name: 'emoji', meshed: 1, pods: 1, tcpConnections: 0 });
    expect(statRow('legacy', 2, [], 10)).toEqual({ name: 'legacy', meshed: 0, pods: 2 });
  });
});

describe('statRow and the admin port', () => {
  it("never counts what reached the proxy's own admin port (the kubelet's probes of 4191)", () => {
    const probes = (n: number) =>
      parsePrometheusText(
        [
          `request_total{direction="inbound",authority="10.42.0.7:4191",target_addr="10.42.0.7:4191",tls="no_identity"} ${n}`,
          `response_total{direction="inbound",authority="10.42.0.7:4191",target_addr="10.42.0.7:4191",tls="no_identity",status_code="200",classification="success"} ${n}`,
          `response_latency_ms_bucket{direction="inbound",target_addr="10.42.0.7:4191",le="+Inf"} ${n}`,
        ].join('\n'),
      );
    expect(statRow('vote-bot', 1, [{ before: probes(10), after: probes(13) }], 10)).toEqual({ name: 'vote-bot', meshed: 1, pods: 1, tcpConnections: 0 });
  });
});

describe('rowFromApi', () => {
  it("turns the metrics API's rows into the table's, with byte rates over the window and - for services' pods", () => {
    const deploy = rowFromApi(
      {
        resource: { type: 'deployment', namespace: 'emojivoto', name: 'voting' },
        pods: { running: 1, meshed: 1, failed: 0 },
        stats: { successRate: 0.88, rps: 1.4, securedRate: 1, latencyMs: { p50: 2, p95: 3.8, p99: 3.96 } },
        tcp: { openConnections: 1, readBytes: 3000, writeBytes: 1500 },
      },
      30,
    );
    expect(deploy).toEqual({ name: 'voting', namespace: 'emojivoto', type: 'deployment', meshed: 1, pods: 1, successRate: 0.88, rps: 1.4, latencyMs: { p50: 2, p95: 3.8, p99: 3.96 }, tcpConnections: 1, readBytesPerSec: 100, writeBytesPerSec: 50, securedRate: 1 });
    const svc = rowFromApi({ resource: { type: 'service', namespace: 'emojivoto', name: 'web-svc' }, stats: null, tcp: null }, 30);
    expect(renderStatTable([deploy, svc], { namespaces: true, wide: true })).toBe(
      [
        'NAMESPACE   NAME      MESHED   SUCCESS      RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN   READ_BYTES/SEC   WRITE_BYTES/SEC',
        'emojivoto   voting       1/1    88.00%   1.4rps           2ms           4ms           4ms          1         100.0B/s           50.0B/s',
        'emojivoto   web-svc        -         -        -             -             -             -          -                -                 -',
        '',
      ].join('\n'),
    );
  });
});

describe('renderStatTable', () => {
  it("prints Linkerd's columns, aligned, with - for no traffic", () => {
    expect(
      renderStatTable([
        { name: 'emoji', meshed: 1, pods: 1, successRate: 1, rps: 2.3, latencyMs: { p50: 0.4, p95: 0.9, p99: 1 }, tcpConnections: 3 },
        { name: 'voting', meshed: 1, pods: 1, successRate: 0.8701, rps: 1.25, latencyMs: { p50: 1, p95: 1.2, p99: 14.6 }, tcpConnections: 3 },
        { name: 'legacy', meshed: 0, pods: 2 },
      ]),
    ).toBe(
      [
        'NAME     MESHED   SUCCESS      RPS   LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN',
        'emoji       1/1   100.00%   2.3rps           1ms           1ms           1ms          3',
        'voting      1/1    87.01%   1.3rps           1ms           1ms          15ms          3',
        'legacy      0/2         -        -             -             -             -          -',
        '',
      ].join('\n'),
    );
  });
});
