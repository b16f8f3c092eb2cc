import { describe, expect, it } from 'vitest';
import { InvalidAddressError } from './errors.ts';
import { ipAddressFromString } from './ip.ts';
import { tcpAddress, tcpAddressFromString, tcpAddressToString } from './tcp-address.ts';

describe('TcpAddress text', () => {
  it('parses IPv4 host:port', () => {
    expect(tcpAddressFromString('10.0.0.1:8080')).toEqual({ ip: ipAddressFromString('10.0.0.1'), port: 8080 });
  });

  it('parses a bracketed IPv6 host', () => {
    expect(tcpAddressFromString('[fd00::1]:4143')).toEqual({ ip: ipAddressFromString('fd00::1'), port: 4143 });
  });

  it.each(['10.0.0.1:8080', '[fd00::1]:4143', '[::]:0', '0.0.0.0:65535', '[::ffff:10.0.0.1]:80'])(
    'formats %s back to the same text',
    (text) => {
      expect(tcpAddressToString(tcpAddressFromString(text))).toBe(text);
    },
  );

  it('builds an address from an IP and a port', () => {
    expect(tcpAddressToString(tcpAddress('fd00::2', 80))).toBe('[fd00::2]:80');
  });

  it.each([
    ['10.0.0.1', /has no ":port"/],
    ['10.0.0.1:', /port "", expected 0..65535/],
    ['10.0.0.1:65536', /port 65536 is outside 0..65535/],
    ['10.0.0.1:-1', /port "-1"/],
    ['10.0.0.1:80x', /port "80x"/],
    ['fd00::1:80', /IPv6 host must be in brackets/],
    ['[fd00::1]80', /is not "\[ipv6\]:port"/],
    ['[fd00::1', /is not "\[ipv6\]:port"/],
    ['web.emojivoto:80', /host "web.emojivoto", expected an IP address/],
    ['[10.0.0.1:80', /is not "\[ipv6\]:port"/],
  ])('rejects %j with an error naming the problem', (text, message) => {
    expect(() => tcpAddressFromString(text)).toThrow(InvalidAddressError);
    expect(() => tcpAddressFromString(text)).toThrow(message);
  });

  it('rejects a message without an ip or with a port beyond 16 bits', () => {
    expect(() => tcpAddressToString({ ip: undefined, port: 80 })).toThrow(/TcpAddress has no ip/);
    expect(() => tcpAddressToString({ ip: ipAddressFromString('10.0.0.1'), port: 70000 })).toThrow(
      /port 70000 is outside 0..65535/,
    );
    expect(() => tcpAddress('10.0.0.1', 1.5)).toThrow(InvalidAddressError);
  });
});
