import { describe, expect, it } from 'vitest';
import { Breaker } from './breaker.ts';
import { PeakEwma } from './ewma.ts';

describe('PeakEwma', () => {
  it('starts at the default RTT, floored at 1 ms', () => {
    expect(new PeakEwma(30, 10_000, 0).estimate(0)).toBe(30);
    expect(new PeakEwma(0, 10_000, 0).estimate(0)).toBe(1);
  });
  it('takes a slower sample at once and blends a faster one by the decay weight', () => {
    const e = new PeakEwma(30, 10_000, 0);
    e.observe(100, 0);
    expect(e.estimate(0)).toBe(100);
    e.observe(10, 10_000);
    const w = Math.exp(-1);
    expect(e.estimate(10_000)).toBeCloseTo(100 * w + 10 * (1 - w), 6);
  });
  it('decays toward zero when idle with a 10 s time constant', () => {
    const e = new PeakEwma(30, 10_000, 0);
    expect(e.estimate(10_000)).toBeCloseTo(30 * Math.exp(-1), 6);
  });
  it('costs RTT × (pending + 1)', () => {
    const e = new PeakEwma(30, 10_000, 0);
    e.pending = 3;
    expect(e.cost(0)).toBe(120);
  });
});

describe('Breaker', () => {
  const opts = { maxFailures: 3, minPenaltyMs: 1_000, maxPenaltyMs: 4_000, jitter: 0 };
  it('shuts after consecutive failures; a success resets the count', () => {
    const b = new Breaker(opts);
    b.record(false, 0);
    b.record(false, 0);
    b.record(true, 0);
    b.record(false, 0);
    b.record(false, 0);
    expect(b.state).toBe('open');
    b.record(false, 0);
    expect(b.state).toBe('shut');
    expect(b.admits(999)).toBe(false);
  });
  it('admits exactly one probe after the penalty; a failed probe doubles the penalty up to the max', () => {
    const b = new Breaker(opts);
    for (let i = 0; i < 3; i++) b.record(false, 0);
    expect(b.admits(1_000)).toBe(true);
    b.dispatched();
    expect(b.admits(1_000)).toBe(false);
    b.record(false, 1_000);
    expect(b.shutUntil).toBe(3_000);
    expect(b.admits(3_000)).toBe(true);
    b.dispatched();
    b.record(false, 3_000);
    expect(b.shutUntil).toBe(7_000);
    b.admits(7_000);
    b.dispatched();
    b.record(false, 7_000);
    expect(b.shutUntil).toBe(11_000);
  });
  it('reopens after a successful probe', () => {
    const b = new Breaker(opts);
    for (let i = 0; i < 3; i++) b.record(false, 0);
    b.admits(1_000);
    b.dispatched();
    b.record(true, 1_000);
    expect(b.state).toBe('open');
    expect(b.admits(1_000)).toBe(true);
  });
});
