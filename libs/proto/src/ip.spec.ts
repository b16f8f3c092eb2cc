import { describe, expect, it } from 'vitest';
import { InvalidAddressError } from './errors.ts';
import {
  ipAddressFromBytes,
  ipAddressFromString,
  ipAddressToBytes,
  ipAddressToString,
  ipNetworkFromString,
  ipNetworkToString,
} from './ip.ts';

describe('IPv4', () => {
  it('reads the four octets as one big-endian number', () => {
    expect(ipAddressFromString('10.0.0.1')).toEqual({ ip: { $case: 'ipv4', value: 0x0a000001 } });
    expect(ipAddressFromString('255.255.255.255')).toEqual({ ip: { $case: 'ipv4', value: 0xffffffff } });
  });

  it('formats the number back as dotted octets', () => {
    expect(ipAddressToString({ ip: { $case: 'ipv4', value: 0xc0a80a02 } })).toBe('192.168.10.2');
    expect(ipAddressToString({ ip: { $case: 'ipv4', value: 0 } })).toBe('0.0.0.0');
  });
});

describe('IPv6', () => {
  it('splits the sixteen octets into two big-endian halves', () => {
    expect(ipAddressFromString('fd00::1')).toEqual({
      ip: { $case: 'ipv6', value: { first: 0xfd00_0000_0000_0000n, last: 1n } },
    });
    expect(ipAddressFromString('2001:db8:1:2:3:4:5:6')).toEqual({
      ip: { $case: 'ipv6', value: { first: 0x2001_0db8_0001_0002n, last: 0x0003_0004_0005_0006n } },
    });
  });

  it('parses an embedded IPv4 tail', () => {
    expect(ipAddressToBytes(ipAddressFromString('::ffff:10.1.2.3')).toString('hex')).toBe(
      '00000000000000000000ffff0a010203',
    );
  });

  it.each([
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs is compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
  ])('formats %s as %s (RFC 5952)', (text, formatted) => {
    expect(ipAddressToString(ipAddressFromString(text))).toBe(formatted);
  });
});

describe('bytes', () => {
  it('round-trips 4 and 16 network-order bytes', () => {
    for (const text of ['10.0.0.1', 'fd00::abcd:1']) {
      const bytes = ipAddressToBytes(ipAddressFromString(text));
      expect(ipAddressToString(ipAddressFromBytes(bytes))).toBe(text);
    }
  });

  it('rejects a byte count other than 4 or 16', () => {
    expect(() => ipAddressFromBytes(new Uint8Array(5))).toThrow(/4 or 16 bytes, not 5/);
  });
});

describe('networks', () => {
  it('parses and formats CIDR text', () => {
    expect(ipNetworkFromString('10.0.0.0/8')).toEqual({ ip: ipAddressFromString('10.0.0.0'), prefixLen: 8 });
    expect(ipNetworkToString(ipNetworkFromString('::/0'))).toBe('::/0');
    expect(ipNetworkToString(ipNetworkFromString('fd00::/8'))).toBe('fd00::/8');
  });

  it.each([
    ['10.0.0.0', /no "\/prefix"/],
    ['10.0.0.0/33', /prefix "33", expected 0..32/],
    ['fd00::/129', /prefix "129", expected 0..128/],
    ['10.0.0.0/x', /prefix "x"/],
    ['10.0.0/8', /"10.0.0" is not an IPv4 or IPv6 address/],
  ])('rejects %s with an error naming the problem', (text, message) => {
    expect(() => ipNetworkFromString(text)).toThrow(InvalidAddressError);
    expect(() => ipNetworkFromString(text)).toThrow(message);
  });
});

describe('malformed input', () => {
  it.each(['', '10.0.0', '10.0.0.256', '1.2.3.4.5', 'fd00:::1', 'fe80::1%eth0', '[::1]', 'localhost', ' 10.0.0.1'])(
    'rejects %j as text',
    (text) => {
      expect(() => ipAddressFromString(text)).toThrow(InvalidAddressError);
    },
  );

  it('rejects messages that carry no address or out-of-range numbers', () => {
    const cases = [
      [{ ip: undefined }, /neither ipv4 nor ipv6/],
      [{ ip: { $case: 'ipv4', value: -1 } }, /ipv4 -1 is not a 32-bit unsigned integer/],
      [{ ip: { $case: 'ipv4', value: 2 ** 32 } }, /is not a 32-bit unsigned integer/],
      [{ ip: { $case: 'ipv4', value: 1.5 } }, /is not a 32-bit unsigned integer/],
      [{ ip: { $case: 'ipv6', value: { first: -1n, last: 0n } } }, /IPv6.first -1 is not a 64-bit/],
      [{ ip: { $case: 'ipv6', value: { first: 0n, last: 2n ** 64n } } }, /IPv6.last \d+ is not a 64-bit/],
    ] as const;
    for (const [address, message] of cases) {
      expect(() => ipAddressToString(address)).toThrow(InvalidAddressError);
      expect(() => ipAddressToString(address)).toThrow(message);
    }
  });

  it('gives errors with a stable code', () => {
    expect(() => ipAddressFromString('nope')).toThrow(expect.objectContaining({ code: 'TRELLIS_ERR_PROTO_ADDRESS' }));
  });
});
