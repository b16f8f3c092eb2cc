import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prom-text.ts';

describe('parsePrometheusText', () => {
  it('reads counters, histogram buckets and escaped label values, skipping comments and timestamps', () => {
    const s = parsePrometheusText(
      [
        '# HELP request_total Total count of HTTP requests.',
        '# TYPE request_total counter',
        'request_total{direction="inbound",authority="web-svc.emojivoto:80",tls="true",client_id="vote-bot.emojivoto.serviceaccount.identity.trellis.cluster.local"} 85',
        'response_latency_ms_bucket{direction="inbound",le="+Inf"} 12 1700000000000',
        'odd{path="a\\"b\\\\c\\nd"} 1.5e3',
        'process_start_time_seconds 1.7e9',
      ].join('\n'),
    );
    expect(s).toEqual([
      { name: 'request_total', labels: { direction: 'inbound', authority: 'web-svc.emojivoto:80', tls: 'true', client_id: 'vote-bot.emojivoto.serviceaccount.identity.trellis.cluster.local' }, value: 85 },
      { name: 'response_latency_ms_bucket', labels: { direction: 'inbound', le: '+Inf' }, value: 12 },
      { name: 'odd', labels: { path: 'a"b\\c\nd' }, value: 1500 },
      { name: 'process_start_time_seconds', labels: {}, value: 1.7e9 },
    ]);
  });

  it('names the line it cannot read', () => {
    expect(() => parsePrometheusText('request_total{direction=inbound} 1')).toThrow('malformed labels in metrics line: request_total{direction=inbound} 1');
    expect(() => parsePrometheusText('request_total abc')).toThrow('malformed value in metrics line: request_total abc');
  });
});
