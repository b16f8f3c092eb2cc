import { describe, expect, it } from 'vitest';
import { InvalidTimeError } from './errors.ts';
import { durationFromMillis, durationToMillis, timestampFromDate, timestampToDate } from './time.ts';

describe('Duration', () => {
  it('splits milliseconds into seconds and nanos', () => {
    expect(durationFromMillis(0)).toEqual({ seconds: 0n, nanos: 0 });
    expect(durationFromMillis(10_000)).toEqual({ seconds: 10n, nanos: 0 });
    expect(durationFromMillis(1_500)).toEqual({ seconds: 1n, nanos: 500_000_000 });
    expect(durationFromMillis(0.001)).toEqual({ seconds: 0n, nanos: 1_000 });
  });

  it('gives negative durations seconds and nanos of the same sign', () => {
    expect(durationFromMillis(-1_500)).toEqual({ seconds: -1n, nanos: -500_000_000 });
    expect(durationFromMillis(-250)).toEqual({ seconds: 0n, nanos: -250_000_000 });
  });

  it.each([0, 30, 1_500, -1_500, 3_600_000, 365 * 24 * 3_600_000, 0.25])('round-trips %d ms', (ms) => {
    expect(durationToMillis(durationFromMillis(ms))).toBe(ms);
  });

  it('rejects non-finite and out-of-range input', () => {
    expect(() => durationFromMillis(Number.NaN)).toThrow(InvalidTimeError);
    expect(() => durationFromMillis(Number.POSITIVE_INFINITY)).toThrow(/not a finite number/);
    expect(() => durationFromMillis(1e18)).toThrow(/Duration.seconds .* is outside/);
    expect(() => durationToMillis({ seconds: 1n, nanos: 1_000_000_000 })).toThrow(/Duration.nanos 1000000000/);
    expect(() => durationToMillis({ seconds: 1n, nanos: -1 })).toThrow(/opposite signs/);
    expect(() => durationToMillis({ seconds: 400_000_000_000n, nanos: 0 })).toThrow(
      expect.objectContaining({ code: 'TRELLIS_ERR_PROTO_TIME' }),
    );
  });
});

describe('Timestamp', () => {
  it('converts a Date to seconds and nanos since the epoch', () => {
    expect(timestampFromDate(new Date('2027-01-15T08:00:00.250Z'))).toEqual({
      seconds: 1_800_000_000n,
      nanos: 250_000_000,
    });
    expect(timestampFromDate(new Date(-1))).toEqual({ seconds: -1n, nanos: 999_000_000 });
  });

  it('converts back to the same Date', () => {
    for (const iso of ['1970-01-01T00:00:00.000Z', '2026-11-23T01:02:03.456Z', '1969-12-31T23:59:59.999Z']) {
      expect(timestampToDate(timestampFromDate(new Date(iso))).toISOString()).toBe(iso);
    }
  });

  it('drops sub-millisecond nanos when making a Date', () => {
    expect(timestampToDate({ seconds: 0n, nanos: 1_999_999 }).getTime()).toBe(1);
  });

  it('rejects invalid Dates and out-of-range Timestamps', () => {
    expect(() => timestampFromDate(new Date('not a date'))).toThrow(InvalidTimeError);
    expect(() => timestampFromDate(new Date('+010000-01-01T00:00:00Z'))).toThrow(/outside years 0001..9999/);
    expect(() => timestampToDate({ seconds: 0n, nanos: -1 })).toThrow(/Timestamp.nanos -1/);
    expect(() => timestampToDate({ seconds: -62_135_596_801n, nanos: 0 })).toThrow(/outside years/);
  });
});
