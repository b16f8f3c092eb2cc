import { describe, expect, it } from 'vitest';
import { DerReader, TAG, decodeOid, der, encodeOid, encodeTime, readSingle, sequence, tlvValue, unsignedInteger } from './der.ts';

describe('DER reader', () => {
  it('reads nested elements and their values', () => {
    const bytes = sequence(der(TAG.INTEGER, Uint8Array.of(5)), encodeOid('1.2.840.10045.4.3.2'));
    const r = DerReader.of(readSingle(bytes, 'test', TAG.SEQUENCE), 'test');
    expect(Array.from(tlvValue(r.read(TAG.INTEGER)))).toEqual([5]);
    expect(decodeOid(r.read(TAG.OID))).toBe('1.2.840.10045.4.3.2');
    r.finish();
  });

  it('reads long-form lengths', () => {
    const big = der(TAG.OCTET_STRING, new Uint8Array(300));
    expect(Array.from(big.subarray(0, 4))).toEqual([0x04, 0x82, 0x01, 0x2c]);
    expect(tlvValue(readSingle(big, 'test')).length).toBe(300);
  });

  it.each([
    ['indefinite length', [0x30, 0x80, 0x00, 0x00], /indefinite/],
    ['non-minimal length', [0x04, 0x81, 0x01, 0xff], /minimally/],
    ['length past the end', [0x04, 0x05, 0x01], /past the end/],
    ['trailing data', [0x05, 0x00, 0x00], /trailing/],
    ['truncated header', [0x30], /truncated/],
    ['empty input', [], /empty/],
    ['multi-byte tag', [0x1f, 0x81, 0x00], /multi-byte/],
  ])('rejects %s', (_name, bytes, message) => {
    expect(() => readSingle(Uint8Array.from(bytes), 'test')).toThrow(message);
  });

  it('rejects an unexpected tag naming both tags', () => {
    expect(() => readSingle(Uint8Array.of(0x05, 0x00), 'test', TAG.SEQUENCE)).toThrow(/expected tag 0x30, found 0x5/);
  });
});

describe('DER writer', () => {
  it('encodes integers as positive with minimal bytes', () => {
    expect(Array.from(unsignedInteger(Uint8Array.of(0x00, 0x00, 0x7f)))).toEqual([0x02, 0x01, 0x7f]);
    expect(Array.from(unsignedInteger(Uint8Array.of(0xff, 0x01)))).toEqual([0x02, 0x03, 0x00, 0xff, 0x01]);
    expect(Array.from(unsignedInteger(Uint8Array.of(0, 0)))).toEqual([0x02, 0x01, 0x00]);
  });

  it('round-trips object identifiers with multi-byte arcs', () => {
    for (const oid of ['2.5.29.17', '1.2.840.113549.1.9.14', '1.3.6.1.5.5.7.3.2', '2.999.1']) {
      expect(decodeOid(readSingle(encodeOid(oid), 'oid'))).toBe(oid);
    }
  });

  it('uses UTCTime through 2049 and GeneralizedTime from 2050, in whole seconds', () => {
    expect(Buffer.from(tlvValue(readSingle(encodeTime(new Date('2026-11-23T01:02:03.999Z')), 't', TAG.UTC_TIME))).toString()).toBe('261123010203Z');
    expect(Buffer.from(tlvValue(readSingle(encodeTime(new Date('2050-01-01T00:00:00Z')), 't', TAG.GENERALIZED_TIME))).toString()).toBe('20500101000000Z');
  });
});
