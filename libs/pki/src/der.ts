// A strict, minimal DER reader and writer. Certify runs on every proxy start and renewal, so the hot path
// (parse a CSR, build and sign a leaf) works on raw DER slices with node:crypto instead of a generic ASN.1
// object model: the subject and public key are copied byte for byte from the CSR, as Go's x509 does.
// Strict means: definite lengths only, minimal length encoding, single-byte tags, no trailing data.
import { PkiError } from './errors.ts';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One tag-length-value element inside `bytes`: the value is bytes[valueStart, end). */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
  readonly bytes: Uint8Array;
}

export const tlvValue = (t: Tlv): Uint8Array => t.bytes.subarray(t.valueStart, t.end);
export const tlvRaw = (t: Tlv): Uint8Array => t.bytes.subarray(t.start, t.end);

const malformed = (what: string, why: string) => new PkiError('TRELLIS_ERR_PKI_DER', `${what} is malformed: ${why}`);

/** Reads consecutive TLVs from a byte range. `what` names the structure in error messages. */
export class DerReader {
  readonly #bytes: Uint8Array;
  readonly #end: number;
  readonly #what: string;
  #pos: number;

  constructor(bytes: Uint8Array, what: string, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
    this.#what = what;
  }

  static of(t: Tlv, what: string): DerReader {
    return new DerReader(t.bytes, what, t.valueStart, t.end);
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  peekTag(): number | undefined {
    return this.done ? undefined : this.#bytes[this.#pos];
  }

  read(expectedTag?: number): Tlv {
    const b = this.#bytes;
    const start = this.#pos;
    if (start >= this.#end) throw malformed(this.#what, 'unexpected end of data');
    const tag = b[start] as number;
    if ((tag & 0x1f) === 0x1f) throw malformed(this.#what, 'multi-byte tags are not supported');
    if (expectedTag !== undefined && tag !== expectedTag) {
      throw malformed(this.#what, `expected tag 0x${expectedTag.toString(16)}, found 0x${tag.toString(16)}`);
    }
    if (start + 1 >= this.#end) throw malformed(this.#what, 'truncated length');
    const first = b[start + 1] as number;
    let length: number;
    let valueStart: number;
    if (first < 0x80) {
      length = first;
      valueStart = start + 2;
    } else {
      const n = first & 0x7f;
      if (n === 0) throw malformed(this.#what, 'indefinite length is not DER');
      if (n > 4) throw malformed(this.#what, 'length too large');
      if (start + 2 + n > this.#end) throw malformed(this.#what, 'truncated length');
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (b[start + 2 + i] as number);
      if (b[start + 2] === 0 || length < 0x80) throw malformed(this.#what, 'length is not minimally encoded');
      valueStart = start + 2 + n;
    }
    const end = valueStart + length;
    if (end > this.#end) throw malformed(this.#what, 'length runs past the end of the data');
    this.#pos = end;
    return { tag, start, valueStart, end, bytes: b };
  }

  /** Asserts nothing follows the last element read. */
  finish(): void {
    if (!this.done) throw malformed(this.#what, 'unexpected trailing data');
  }
}

/** Reads exactly one element spanning the whole input. */
export function readSingle(bytes: Uint8Array, what: string, tag?: number): Tlv {
  if (bytes.length === 0) throw malformed(what, 'empty input');
  const r = new DerReader(bytes, what);
  const t = r.read(tag);
  r.finish();
  return t;
}

export function decodeOid(t: Tlv): string {
  const v = tlvValue(t);
  if (v.length === 0) throw malformed('object identifier', 'empty');
  const arcs: number[] = [];
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    const byte = v[i] as number;
    if (acc === 0 && byte === 0x80) throw malformed('object identifier', 'non-minimal arc');
    acc = acc * 128 + (byte & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER) throw malformed('object identifier', 'arc too large');
    if ((byte & 0x80) === 0) {
      if (arcs.length === 0) {
        const firstArc = acc < 40 ? 0 : acc < 80 ? 1 : 2;
        arcs.push(firstArc, acc - firstArc * 40);
      } else arcs.push(acc);
      acc = 0;
    } else if (i === v.length - 1) throw malformed('object identifier', 'truncated arc');
  }
  return arcs.join('.');
}

// ---- writer ----

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
  return Uint8Array.from([0x80 | out.length, ...out]);
}

/** Encodes one element from its tag and the already-encoded parts of its value. */
export function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const len = encodeLength(length);
  const out = new Uint8Array(1 + len.length + length);
  out[0] = tag;
  out.set(len, 1);
  let off = 1 + len.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const sequence = (...parts: Uint8Array[]) => der(TAG.SEQUENCE, ...parts);
export const explicit = (n: number, ...parts: Uint8Array[]) => der(0xa0 | n, ...parts);
export const octetString = (v: Uint8Array) => der(TAG.OCTET_STRING, v);
export const bitString = (v: Uint8Array) => der(TAG.BIT_STRING, Uint8Array.of(0), v);
export const booleanTrue = () => der(TAG.BOOLEAN, Uint8Array.of(0xff));

/** A non-negative INTEGER from big-endian magnitude bytes (leading zeros stripped, sign byte added). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  if (m.length === 0) return der(TAG.INTEGER, Uint8Array.of(0));
  return ((m[0] as number) & 0x80) !== 0 ? der(TAG.INTEGER, Uint8Array.of(0), m) : der(TAG.INTEGER, m);
}

export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map(Number);
  const [a = 0, b = 0, ...rest] = arcs;
  const body: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let x = Math.floor(arc / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift(0x80 | (x & 0x7f));
    body.push(...chunk);
  }
  return der(TAG.OID, Uint8Array.from(body));
}

const two = (n: number) => String(n).padStart(2, '0');

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, always Z. */
export function encodeTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return der(TAG.UTC_TIME, Buffer.from(`${two(y % 100)}${rest}`, 'latin1'));
  return der(TAG.GENERALIZED_TIME, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'latin1'));
}
