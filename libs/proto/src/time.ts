// google.protobuf.Duration and Timestamp to and from milliseconds and Dates, with the range checks of
// the well-known types so that nothing out of range reaches the wire.
import { InvalidTimeError } from './errors.ts';
import type { Duration } from './gen/google/protobuf/duration.ts';
import type { Timestamp } from './gen/google/protobuf/timestamp.ts';

// From the well-known types' definitions: about ±10,000 years; 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z.
const MAX_DURATION_SECONDS = 315_576_000_000n;
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;
const NANOS_PER_SECOND = 1_000_000_000;

/** A Duration of `ms` milliseconds (fractions kept to the nanosecond; negative allowed). */
export function durationFromMillis(ms: number): Duration {
  if (!Number.isFinite(ms)) throw new InvalidTimeError(`duration ${ms} ms is not a finite number`);
  const totalNanos = BigInt(Math.round(ms * 1_000_000));
  const seconds = totalNanos / 1_000_000_000n; // truncates toward zero, so nanos keeps the sign of seconds
  const nanos = Number(totalNanos - seconds * 1_000_000_000n);
  return checkDuration({ seconds, nanos });
}

/** The length of a Duration in milliseconds (fractional when it has sub-millisecond nanos). */
export function durationToMillis(duration: Duration): number {
  const { seconds, nanos } = checkDuration(duration);
  return Number(seconds) * 1000 + nanos / 1_000_000;
}

/** The Timestamp of a Date. */
export function timestampFromDate(date: Date): Timestamp {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new InvalidTimeError('Timestamp from an invalid Date');
  const seconds = Math.floor(ms / 1000);
  return checkTimestamp({ seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 });
}

/** The Date of a Timestamp (Dates hold milliseconds: sub-millisecond nanos are dropped). */
export function timestampToDate(timestamp: Timestamp): Date {
  const { seconds, nanos } = checkTimestamp(timestamp);
  return new Date(Number(seconds) * 1000 + Math.floor(nanos / 1_000_000));
}

function checkDuration(duration: Duration): Duration {
  const { seconds, nanos } = duration;
  if (typeof seconds !== 'bigint' || seconds > MAX_DURATION_SECONDS || seconds < -MAX_DURATION_SECONDS) {
    throw new InvalidTimeError(`Duration.seconds ${String(seconds)} is outside ±${MAX_DURATION_SECONDS}`);
  }
  if (!Number.isInteger(nanos) || Math.abs(nanos) >= NANOS_PER_SECOND) {
    throw new InvalidTimeError(`Duration.nanos ${nanos} is outside ±999999999`);
  }
  if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    throw new InvalidTimeError(`Duration has seconds ${seconds} and nanos ${nanos} of opposite signs`);
  }
  return duration;
}

function checkTimestamp(timestamp: Timestamp): Timestamp {
  const { seconds, nanos } = timestamp;
  if (typeof seconds !== 'bigint' || seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new InvalidTimeError(`Timestamp.seconds ${String(seconds)} is outside years 0001..9999`);
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos >= NANOS_PER_SECOND) {
    throw new InvalidTimeError(`Timestamp.nanos ${nanos} is outside 0..999999999`);
  }
  return timestamp;
}
