import { describe, expect, it } from 'vitest';
import { RateLimit } from './rate.ts';

describe('RateLimit', () => {
  it('lets max_rps requests through per second and refills as time passes', () => {
    let now = 0;
    const r = new RateLimit(2, () => now);
    expect([r.take(), r.take(), r.take()]).toEqual([true, true, false]);
    now = 500;
    expect([r.take(), r.take()]).toEqual([true, false]);
    now = 10_000;
    expect([r.take(), r.take(), r.take()]).toEqual([true, true, false]);
  });
});
