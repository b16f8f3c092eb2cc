import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Fingerprint } from './fingerprint.ts';

describe('sha256Fingerprint', () => {
  it('is the lowercase hex SHA-256 of the DER bytes', () => {
    expect(sha256Fingerprint(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const der = Uint8Array.of(0x30, 0x00);
    expect(sha256Fingerprint(der)).toBe(createHash('sha256').update(der).digest('hex'));
  });
});
