import { describe, expect, it } from 'vitest';
import { MalformedTransportHeaderError, TruncatedTransportHeaderError } from './errors.ts';
import { Header } from './gen/transport_header.ts';
import {
  decodeTransportHeader,
  encodeTransportHeader,
  MAX_TRANSPORT_HEADER_LENGTH,
  readTransportHeader,
  TRANSPORT_HEADER_PREFACE,
} from './transport-header.ts';

const header = Header.fromPartial({ port: 5432, name: '', sessionProtocol: undefined });
const framed = encodeTransportHeader(header);

function withLength(length: number, body: Uint8Array = new Uint8Array()): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return Buffer.concat([TRANSPORT_HEADER_PREFACE, prefix, body]);
}

function malformed(bytes: Uint8Array): MalformedTransportHeaderError {
  try {
    readTransportHeader(bytes);
  } catch (error) {
    if (error instanceof MalformedTransportHeaderError) return error;
    throw error;
  }
  throw new Error('expected a MalformedTransportHeaderError');
}

describe('transport header codec', () => {
  it('round-trips an opaque header with no name or session protocol', () => {
    expect(framed.length).toBe(23 + 4 + 3);
    expect(decodeTransportHeader(framed)).toEqual({ header, length: 30 });
  });

  it('round-trips HTTP/1 and HTTP/2 session protocols and a gateway name', () => {
    for (const $case of ['http1', 'http2'] as const) {
      const h = Header.fromPartial({
        port: 80,
        name: 'web.emojivoto.svc.cluster.local',
        sessionProtocol: { kind: { $case, value: {} } },
      });
      expect(decodeTransportHeader(encodeTransportHeader(h)).header).toEqual(h);
    }
  });

  it('reports the length of the header and leaves the application bytes after it', () => {
    const stream = Buffer.concat([framed, Buffer.from('GET / HTTP/1.1\r\n')]);
    const read = readTransportHeader(stream);
    expect(read).toEqual({ complete: true, header, length: framed.length });
    expect(stream.subarray(framed.length).toString()).toBe('GET / HTTP/1.1\r\n');
  });
});

describe('reading from a stream', () => {
  it('asks for the prefix first, then for the whole header, at every split point', () => {
    for (let n = 0; n < framed.length; n++) {
      const read = readTransportHeader(framed.subarray(0, n));
      expect(read.complete, `after ${n} bytes`).toBe(false);
      expect(read).toEqual({ complete: false, needed: n < 27 ? 27 : framed.length });
    }
    expect(readTransportHeader(framed).complete).toBe(true);
  });

  it('names a truncated header as truncated when decoding a complete buffer', () => {
    const short = framed.subarray(0, 28);
    expect(() => decodeTransportHeader(short)).toThrow(TruncatedTransportHeaderError);
    expect(() => decodeTransportHeader(short)).toThrow('transport header is truncated: got 28 bytes, need at least 30');
    expect(() => decodeTransportHeader(new Uint8Array())).toThrow(
      expect.objectContaining({ code: 'TRELLIS_ERR_TRANSPORT_HEADER_TRUNCATED', received: 0, needed: 27 }),
    );
  });
});

describe('malformed headers', () => {
  it('rejects a wrong preface as soon as the first wrong byte arrives', () => {
    const error = malformed(Buffer.from('GET / HTTP/1.1\r\n'));
    expect(error.problem).toBe('preface');
    expect(error.code).toBe('TRELLIS_ERR_TRANSPORT_HEADER_MALFORMED');
    expect(error.message).toContain('"GET / HTTP/1.1\\r\\n"');
    expect(malformed(Buffer.from('transport.l5d.io/v2')).problem).toBe('preface');
    expect(malformed(Buffer.from('x')).problem).toBe('preface');
  });

  it('rejects a length over 64 KiB before waiting for the body', () => {
    expect(readTransportHeader(withLength(MAX_TRANSPORT_HEADER_LENGTH))).toEqual({
      complete: false,
      needed: 27 + MAX_TRANSPORT_HEADER_LENGTH,
    });
    const error = malformed(withLength(MAX_TRANSPORT_HEADER_LENGTH + 1));
    expect(error.problem).toBe('length');
    expect(error.message).toBe('transport header length 65537 exceeds 65536 bytes');
    expect(malformed(withLength(0xffffffff)).problem).toBe('length');
  });

  it('rejects a body that is not a protobuf Header', () => {
    // Field 1 as a varint whose continuation bit runs past the end of the body.
    const error = malformed(withLength(2, Buffer.from([0x08, 0xff])));
    expect(error.problem).toBe('protobuf');
    expect(error.message).toMatch(/2 bytes are not a protobuf Header/);
    expect(malformed(withLength(1, Buffer.from([0x0f]))).problem).toBe('protobuf'); // wire type 7 does not exist
  });

  it.each([
    ['missing (0)', Buffer.from([])],
    ['negative', Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ['above 65535', Buffer.from([0x08, 0x80, 0x80, 0x04])],
  ])('rejects a port that is %s', (_, body) => {
    const error = malformed(withLength(body.length, body));
    expect(error.problem).toBe('port');
    expect(error.message).toMatch(/port -?\d+ is outside 1..65535/);
  });

  it('refuses to encode a header with an invalid port', () => {
    expect(() => encodeTransportHeader(Header.fromPartial({ port: 0 }))).toThrow(MalformedTransportHeaderError);
    expect(() => encodeTransportHeader(Header.fromPartial({ port: 65536 }))).toThrow(/port 65536/);
  });

  it('refuses to encode a header over 64 KiB', () => {
    const huge = Header.fromPartial({ port: 80, name: 'a'.repeat(MAX_TRANSPORT_HEADER_LENGTH) });
    expect(() => encodeTransportHeader(huge)).toThrow(/exceeds 65536 bytes/);
  });

  it('never throws anything but a typed error on random bytes after a valid prefix', () => {
    let seed = 1;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    for (let i = 0; i < 500; i++) {
      const body = Buffer.from(Array.from({ length: 1 + (i % 20) }, random));
      try {
        readTransportHeader(withLength(body.length, body));
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedTransportHeaderError);
      }
    }
  });
});
