import { describe, expect, it } from 'vitest';
import { refreshDelayMs } from './refresh.ts';

const MIN = 10_000;
const MAX = 24 * 3_600_000;

describe('refreshDelayMs', () => {
  it('renews at 70% of the remaining lifetime', () => {
    expect(refreshDelayMs(new Date(100_000 + 24 * 3_600_000), 100_000, MIN, MAX)).toBe(Math.floor(0.7 * 24 * 3_600_000));
  });
  it('never waits less than the minimum, even for an expired certificate', () => {
    expect(refreshDelayMs(new Date(1_000), 100_000, MIN, MAX)).toBe(MIN);
    expect(refreshDelayMs(new Date(105_000), 100_000, MIN, MAX)).toBe(MIN);
  });
  it('never waits more than the maximum', () => {
    expect(refreshDelayMs(new Date(100 * 24 * 3_600_000), 0, MIN, MAX)).toBe(MAX);
  });
  it('retries every minimum interval before the first certificate', () => {
    expect(refreshDelayMs(undefined, 0, MIN, MAX)).toBe(MIN);
  });
});
