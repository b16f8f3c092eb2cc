import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

describe('Backoff', () => {
  it('doubles the cap per attempt up to the maximum, jittered into the upper half', () => {
    const hi = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    expect([hi.next(), hi.next(), hi.next(), hi.next(), hi.next()]).toEqual([100, 200, 400, 800, 1000]);
    const lo = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect([lo.next(), lo.next()]).toEqual([50, 100]);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ initialMs: 100, random: () => 1 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });
});
