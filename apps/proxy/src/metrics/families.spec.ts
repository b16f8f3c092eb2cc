import { describe, expect, it } from 'vitest';
import { CounterFamily, GaugeFamily, HistogramFamily, labelText } from './families.ts';

describe('labelText', () => {
  it('renders labels in order with Prometheus escaping', () => {
    expect(labelText({ a: 'x', b: 'say "hi"\\\n' })).toBe('a="x",b="say \\"hi\\"\\\\\\n"');
  });
});

describe('families', () => {
  it('renders counters, gauges and cumulative histogram buckets', () => {
    const c = new CounterFamily('request_total', 'Total count of HTTP requests.');
    c.child('direction="inbound"').inc(3);
    expect(c.render()).toBe('# HELP request_total Total count of HTTP requests.\n# TYPE request_total counter\nrequest_total{direction="inbound"} 3\n');
    const g = new GaugeFamily('tcp_open_connections', 'open');
    g.child('peer="src"').inc();
    expect(g.render()).toContain('tcp_open_connections{peer="src"} 1\n');
    const h = new HistogramFamily('response_latency_ms', 'latency', [1, 10]);
    const child = h.child('status_code="200"');
    child.observe(0.5);
    child.observe(1);
    child.observe(7);
    child.observe(11);
    expect(h.render()).toContain(
      [
        'response_latency_ms_bucket{status_code="200",le="1"} 2',
        'response_latency_ms_bucket{status_code="200",le="10"} 3',
        'response_latency_ms_bucket{status_code="200",le="+Inf"} 4',
        'response_latency_ms_sum{status_code="200"} 19.5',
        'response_latency_ms_count{status_code="200"} 4',
      ].join('\n'),
    );
  });

  it('renders nothing for a family without series', () => expect(new CounterFamily('x', 'y').render()).toBe(''));

  it('evicts a series idle for the retention time, and brings it back when it is used again', () => {
    const c = new CounterFamily('request_total', 'h');
    const child = c.child('a="1"');
    child.inc();
    c.sweep(0, 600_000);
    c.sweep(300_000, 600_000);
    expect(c.size()).toBe(1);
    c.sweep(600_000, 600_000);
    expect(c.size()).toBe(0);
    expect(c.render()).toBe('');
    child.inc();
    expect(c.size()).toBe(1);
    expect(c.render()).toContain('request_total{a="1"} 2');
  });

  it('keeps a series that keeps changing, and a gauge that is not zero', () => {
    const c = new CounterFamily('c', 'h');
    const g = new GaugeFamily('g', 'h');
    const busy = c.child('a="1"');
    const open = g.child('a="1"');
    open.inc();
    for (let t = 0; t <= 1_200_000; t += 300_000) {
      busy.inc();
      c.sweep(t, 600_000);
      g.sweep(t, 600_000);
    }
    expect(c.size()).toBe(1);
    expect(g.size()).toBe(1);
    open.dec();
    g.sweep(1_300_000, 600_000);
    g.sweep(1_900_000, 600_000);
    expect(g.size()).toBe(0);
  });
});
