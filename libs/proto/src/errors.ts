// Every failure in this lib's helpers is a typed TrellisError with a stable code. Messages name the
// offending input so a log line is enough to find the problem.
import { TrellisError } from '@trellis/config';

/** Text or a message that is not a valid IP address, network or TCP address. */
export class InvalidAddressError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_PROTO_ADDRESS', message);
  }
}

/** A Duration, Timestamp, millisecond count or Date that is out of range or not a number. */
export class InvalidTimeError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_PROTO_TIME', message);
  }
}

export type TransportHeaderProblem =
  /** The bytes do not start with "transport.l5d.io/v1\r\n\r\n". */
  | 'preface'
  /** The length prefix exceeds MAX_TRANSPORT_HEADER_LENGTH. */
  | 'length'
  /** The length-delimited bytes are not a protobuf Header. */
  | 'protobuf'
  /** The Header's port is outside 1..65535. */
  | 'port';

/** Bytes that can never become a valid transport header: the connection should be closed. */
export class MalformedTransportHeaderError extends TrellisError {
  readonly problem: TransportHeaderProblem;
  constructor(problem: TransportHeaderProblem, message: string, options?: { cause?: unknown }) {
    super('TRELLIS_ERR_TRANSPORT_HEADER_MALFORMED', message, options);
    this.problem = problem;
  }
}

/**
 * Bytes that are a valid start of a transport header but stop short of its end. A stream reader waits
 * for `needed` bytes in total; a caller that already has everything (EOF) treats this as malformed.
 */
export class TruncatedTransportHeaderError extends TrellisError {
  readonly received: number;
  readonly needed: number;
  constructor(received: number, needed: number) {
    super(
      'TRELLIS_ERR_TRANSPORT_HEADER_TRUNCATED',
      `transport header is truncated: got ${received} bytes, need at least ${needed}`,
    );
    this.received = received;
    this.needed = needed;
  }
}
