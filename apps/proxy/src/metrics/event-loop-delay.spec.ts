import { createHistogram } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { EventLoopDelay } from './event-loop-delay.ts';

const series = (text: string) => Object.fromEntries([...text.matchAll(/^(process_event_loop_delay_seconds\S*) (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));

describe('event-loop delay histogram', () => {
  it('buckets the delays past the timer interval, cumulative across scrapes', () => {
    // A recordable histogram in the monitor's units: time between timer ticks in ns, the interval 10 ms.
    const h = createHistogram();
    const elapsed = (delayMs: number) => h.record(Math.round((10 + delayMs) * 1e6));
    for (let i = 0; i < 97; i++) elapsed(0.2);
    elapsed(4);
    elapsed(40);
    elapsed(3000);
    const eld = new EventLoopDelay(10, h);
    let s = series(eld.render());
    expect(s['process_event_loop_delay_seconds_bucket{le="0.0005"}']).toBe(97);
    expect(s['process_event_loop_delay_seconds_bucket{le="0.003"}']).toBe(97);
    // The 4 ms sample falls between two reported percentiles: it counts in the next bucket up, never a lower one.
    expect(s['process_event_loop_delay_seconds_bucket{le="0.005"}']).toBeGreaterThanOrEqual(97);
    expect(s['process_event_loop_delay_seconds_bucket{le="0.005"}']).toBeLessThanOrEqual(98);
    expect(s['process_event_loop_delay_seconds_bucket{le="0.05"}']).toBe(99);
    expect(s['process_event_loop_delay_seconds_bucket{le="2.5"}']).toBe(99);
    expect(s['process_event_loop_delay_seconds_bucket{le="+Inf"}']).toBe(100);
    expect(s['process_event_loop_delay_seconds_count']).toBe(100);
    expect(s['process_event_loop_delay_seconds_sum']).toBeCloseTo(0.0194 + 0.004 + 0.04 + 3, 2);
    // A later scrape counts what came since on top (the buckets are cumulative).
    elapsed(0.9);
    s = series(eld.render());
    expect(s['process_event_loop_delay_seconds_bucket{le="0.001"}']).toBe(98);
    expect(s['process_event_loop_delay_seconds_bucket{le="+Inf"}']).toBe(101);
    expect(s['process_event_loop_delay_seconds_count']).toBe(101);
  });

  it('counts one long stall above its bucket however many samples came before it', () => {
    // A proxy up for an hour has ~360 000 samples at 10 ms: the reported percentiles near 100 are then too coarse to
    // tell the last sample from the one before it, and the stall would be counted within 0.1 s.
    const h = createHistogram();
    const elapsed = (delayMs: number) => h.record(Math.round((10 + delayMs) * 1e6));
    for (let i = 0; i < 360_000; i++) elapsed(0.2);
    elapsed(300);
    const s = series(new EventLoopDelay(10, h).render());
    expect(s['process_event_loop_delay_seconds_bucket{le="0.1"}']).toBe(360_000);
    expect(s['process_event_loop_delay_seconds_bucket{le="0.25"}']).toBe(360_000);
    expect(s['process_event_loop_delay_seconds_bucket{le="0.5"}']).toBe(360_001);
    expect(s['process_event_loop_delay_seconds_bucket{le="+Inf"}']).toBe(360_001);
  });

  it('sees a blocked loop', async () => {
    const eld = new EventLoopDelay(5);
    await new Promise((r) => setTimeout(r, 30));
    const until = Date.now() + 120;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 30));
    const s = series(eld.render());
    eld.close();
    expect(s['process_event_loop_delay_seconds_count']).toBeGreaterThan(2);
    expect(s['process_event_loop_delay_seconds_bucket{le="+Inf"}']! - s['process_event_loop_delay_seconds_bucket{le="0.05"}']!).toBeGreaterThanOrEqual(1);
  });
});
