import { describe, expect, it } from 'vitest';
import { mergeExpositions } from './merge.ts';

const a = `# HELP request_total Total count of HTTP requests.
# TYPE request_total counter
request_total{direction="outbound",target_addr="10.0.0.1:80"} 3
request_total{direction="inbound",target_addr="10.0.0.2:80"} 1
# HELP response_latency_ms Elapsed times.
# TYPE response_latency_ms histogram
response_latency_ms_bucket{direction="outbound",le="1"} 2
response_latency_ms_bucket{direction="outbound",le="+Inf"} 3
response_latency_ms_sum{direction="outbound"} 2.5
response_latency_ms_count{direction="outbound"} 3
`;
const b = `# HELP request_total Total count of HTTP requests.
# TYPE request_total counter
request_total{direction="outbound",target_addr="10.0.0.1:80"} 4
request_total{direction="outbound",target_addr="10.0.0.9:80"} 7
# HELP response_latency_ms Elapsed times.
# TYPE response_latency_ms histogram
response_latency_ms_bucket{direction="outbound",le="1"} 1
response_latency_ms_bucket{direction="outbound",le="+Inf"} 4
response_latency_ms_sum{direction="outbound"} 10.25
response_latency_ms_count{direction="outbound"} 4
# HELP tcp_open_connections Open connections.
# TYPE tcp_open_connections gauge
tcp_open_connections{direction="inbound",peer="src",label="a b}"} 2
`;

describe('mergeExpositions', () => {
  it('sums each series over the threads, keeps each family once, and keeps series only one thread holds', () => {
    expect(mergeExpositions([a, b])).toBe(`# HELP request_total Total count of HTTP requests.
# TYPE request_total counter
request_total{direction="outbound",target_addr="10.0.0.1:80"} 7
request_total{direction="inbound",target_addr="10.0.0.2:80"} 1
request_total{direction="outbound",target_addr="10.0.0.9:80"} 7
# HELP response_latency_ms Elapsed times.
# TYPE response_latency_ms histogram
response_latency_ms_bucket{direction="outbound",le="1"} 3
response_latency_ms_bucket{direction="outbound",le="+Inf"} 7
response_latency_ms_sum{direction="outbound"} 12.75
response_latency_ms_count{direction="outbound"} 7
# HELP tcp_open_connections Open connections.
# TYPE tcp_open_connections gauge
tcp_open_connections{direction="inbound",peer="src",label="a b}"} 2
`);
  });

  it('returns a single thread\'s text as it is', () => {
    expect(mergeExpositions([a])).toBe(a);
  });

  it('keeps families that have no HELP or TYPE apart', () => {
    expect(mergeExpositions(['x_total 1\ny_total 2\n', 'y_total 3\n'])).toBe('x_total 1\ny_total 5\n');
  });
});
