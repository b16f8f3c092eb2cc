import { describe, expect, it } from 'vitest';
import { parsePrometheusText, selectSamples } from './prom-text.ts';

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
        'nodejs_eventloop_lag_mean_seconds Nan',
        'big +inf',
      ].join('\n'),
    );
    expect(s.map(({ line: _line, ...rest }) => rest)).toEqual([
      { name: 'request_total', labels: { direction: 'inbound', authority: 'web-svc.emojivoto:80', tls: 'true', client_id: 'vote-bot.emojivoto.serviceaccount.identity.trellis.cluster.local' }, value: 85 },
      { name: 'response_latency_ms_bucket', labels: { direction: 'inbound', le: '+Inf' }, value: 12 },
      { name: 'odd', labels: { path: 'a"b\\c\nd' }, value: 1500 },
      { name: 'process_start_time_seconds', labels: {}, value: 1.7e9 },
      { name: 'nodejs_eventloop_lag_mean_seconds', labels: {}, value: NaN },
      { name: 'big', labels: {}, value: Infinity },
    ]);
  });

  it('keeps each line and selects samples by name and labels', () => {
    const s = parsePrometheusText('a{x="1",y="2"} 3\na{x="1",y="3"} 4\nb{x="1"} 5\n');
    expect(selectSamples(s, 'a', { x: '1' }).map((x) => x.line)).toEqual(['a{x="1",y="2"} 3', 'a{x="1",y="3"} 4']);
    expect(selectSamples(s, 'a', { y: '3' }).map((x) => x.value)).toEqual([4]);
  });

  it('names the line it cannot read', () => {
    expect(() => parsePrometheusText('request_total{direction=inbound} 1')).toThrow('malformed labels in metrics line: request_total{direction=inbound} 1');
    expect(() => parsePrometheusText('request_total abc')).toThrow('malformed value in metrics line: request_total abc');
  });
});
