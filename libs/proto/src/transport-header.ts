// The transport header a client proxy writes first inside an mTLS session to a peer's inbound port:
// the ASCII preface "transport.l5d.io/v1\r\n\r\n", a 4-byte big-endian length, then a protobuf Header.
import { MalformedTransportHeaderError, TruncatedTransportHeaderError } from './errors.ts';
import { Header } from './gen/transport_header.ts';

/** The TLS ALPN protocol a client offers when it sends a transport header. */
export const TRANSPORT_HEADER_ALPN = 'transport.l5d.io/v1';
export const TRANSPORT_HEADER_PREFACE: Buffer = Buffer.from(`${TRANSPORT_HEADER_ALPN}\r\n\r\n`, 'ascii');
/** Our bound on the protobuf part: a real header is a port, a host name and a tag, far below this. */
export const MAX_TRANSPORT_HEADER_LENGTH = 64 * 1024;

const PREFIX_LENGTH = TRANSPORT_HEADER_PREFACE.length + 4;

export type TransportHeaderRead =
  /** `length` bytes (preface, length prefix, protobuf) were the header; the application's bytes follow. */
  | { readonly complete: true; readonly header: Header; readonly length: number }
  /** Everything so far is a valid start; wait until at least `needed` bytes have arrived. */
  | { readonly complete: false; readonly needed: number };

/** Frames a Header for the wire. Throws MalformedTransportHeaderError for a port outside 1..65535. */
export function encodeTransportHeader(header: Header): Buffer {
  checkPort(header.port);
  const body = Header.encode(header).finish();
  if (body.length > MAX_TRANSPORT_HEADER_LENGTH) {
    throw new MalformedTransportHeaderError(
      'length',
      `transport header of ${body.length} bytes exceeds ${MAX_TRANSPORT_HEADER_LENGTH} bytes`,
    );
  }
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([TRANSPORT_HEADER_PREFACE, length, body]);
}

/**
 * Reads a header from the start of `bytes` as they arrive on a stream. A valid but short buffer gives
 * `{ complete: false, needed }`; bytes that can never become a header (a wrong preface, even partial; an
 * oversized length; a bad protobuf or port) throw MalformedTransportHeaderError at once.
 */
export function readTransportHeader(bytes: Uint8Array): TransportHeaderRead {
  const prefaceBytes = Math.min(bytes.length, TRANSPORT_HEADER_PREFACE.length);
  if (!TRANSPORT_HEADER_PREFACE.subarray(0, prefaceBytes).equals(bytes.subarray(0, prefaceBytes))) {
    throw new MalformedTransportHeaderError(
      'preface',
      `connection does not start with the transport header preface "transport.l5d.io/v1\\r\\n\\r\\n" ` +
        `(got ${JSON.stringify(Buffer.from(bytes.subarray(0, prefaceBytes)).toString('latin1'))})`,
    );
  }
  if (bytes.length < PREFIX_LENGTH) return { complete: false, needed: PREFIX_LENGTH };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bodyLength = view.getUint32(TRANSPORT_HEADER_PREFACE.length);
  if (bodyLength > MAX_TRANSPORT_HEADER_LENGTH) {
    throw new MalformedTransportHeaderError(
      'length',
      `transport header length ${bodyLength} exceeds ${MAX_TRANSPORT_HEADER_LENGTH} bytes`,
    );
  }
  const total = PREFIX_LENGTH + bodyLength;
  if (bytes.length < total) return { complete: false, needed: total };
  let header: Header;
  try {
    header = Header.decode(bytes.subarray(PREFIX_LENGTH, total));
  } catch (error) {
    throw new MalformedTransportHeaderError(
      'protobuf',
      `transport header's ${bodyLength} bytes are not a protobuf Header: ${(error as Error).message}`,
      { cause: error },
    );
  }
  checkPort(header.port);
  return { complete: true, header, length: total };
}

/**
 * Decodes a header from a buffer that should hold all of it (for example after EOF). Throws
 * TruncatedTransportHeaderError when it stops short and MalformedTransportHeaderError when it is invalid.
 */
export function decodeTransportHeader(bytes: Uint8Array): { header: Header; length: number } {
  const read = readTransportHeader(bytes);
  if (!read.complete) throw new TruncatedTransportHeaderError(bytes.length, read.needed);
  return { header: read.header, length: read.length };
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new MalformedTransportHeaderError('port', `transport header port ${port} is outside 1..65535`);
  }
}
