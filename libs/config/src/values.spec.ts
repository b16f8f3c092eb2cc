import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { parseBoolean, parseCidr, parseCidrList, parseDuration, parseEnum, parseInteger, parseListenAddress, parsePort, parsePortRanges } from './values.ts';

describe('parseDuration', () => {
  it('reads Go-style durations into milliseconds', () => {
    expect(parseDuration('d', '10s')).toBe(10_000);
    expect(parseDuration('d', '1m30s')).toBe(90_000);
    expect(parseDuration('d', '250ms')).toBe(250);
    expect(parseDuration('d', '500µs')).toBe(0.5);
    expect(parseDuration('d', '500us')).toBe(0.5);
    expect(parseDuration('d', '24h')).toBe(86_400_000);
    expect(parseDuration('d', '1.5s')).toBe(1500);
    expect(parseDuration('d', '0')).toBe(0);
  });
  it('rejects bare numbers and junk, naming the setting and the value', () => {
    expect(() => parseDuration('LINKERD2_PROXY_DETECT_TIMEOUT', '10')).toThrow(/"10" for LINKERD2_PROXY_DETECT_TIMEOUT/);
    expect(() => parseDuration('d', '10s junk')).toThrow(ConfigError);
    expect(() => parseDuration('d', '')).toThrow(ConfigError);
  });
});

describe('ports and numbers', () => {
  it('accepts ports 1-65535 only', () => {
    expect(parsePort('--p', '4143')).toBe(4143);
    for (const bad of ['0', '65536', '-1', '80a', '']) expect(() => parsePort('--p', bad)).toThrow(/--p/);
  });
  it('checks integer bounds', () => {
    expect(parseInteger('n', '7', 0, 10)).toBe(7);
    expect(() => parseInteger('n', '11', 0, 10)).toThrow(/from 0 to 10/);
  });
  it('reads port lists with inclusive ranges and ignores empty items', () => {
    expect(parsePortRanges('--ports', '80, 443,,8000-8080')).toEqual([
      { from: 80, to: 80 },
      { from: 443, to: 443 },
      { from: 8000, to: 8080 },
    ]);
    expect(parsePortRanges('--ports', '')).toEqual([]);
  });
  it('rejects reversed ranges and non-ports, naming the item', () => {
    expect(() => parsePortRanges('--ports', '90-80')).toThrow(/90-80 ends before it starts/);
    expect(() => parsePortRanges('--ports', '80,http')).toThrow(/"http" is not a port/);
    expect(() => parsePortRanges('--ports', '1-70000')).toThrow(ConfigError);
  });
});

describe('CIDRs, booleans and enums', () => {
  it('reads IPv4 and IPv6 CIDRs; a bare address is a host route', () => {
    expect(parseCidr('--subnets', '10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 4 });
    expect(parseCidr('--subnets', 'fd00::/64')).toEqual({ address: 'fd00::', prefix: 64, family: 6 });
    expect(parseCidr('--subnets', '10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 4 });
    expect(parseCidrList('--subnets', '10.0.0.0/8, fd00::/64').map((c) => c.family)).toEqual([4, 6]);
  });
  it('rejects bad CIDRs', () => {
    for (const bad of ['10.0.0.0/33', '300.0.0.0/8', 'fd00::/129', 'x/1', '10.0.0.0/8/1']) expect(() => parseCidr('--subnets', bad)).toThrow(/--subnets/);
  });
  it('reads booleans the way flags and env vars spell them', () => {
    expect(['true', 'TRUE', '1', 'yes', 'on'].map((v) => parseBoolean('b', v))).toEqual([true, true, true, true, true]);
    expect(['false', '0', 'no', 'off'].map((v) => parseBoolean('b', v))).toEqual([false, false, false, false]);
    expect(() => parseBoolean('b', 'maybe')).toThrow(/expected true or false/);
  });
  it('accepts only listed enum values', () => {
    expect(parseEnum('--log-format', 'json', ['plain', 'json'])).toBe('json');
    expect(() => parseEnum('--log-format', 'xml', ['plain', 'json'])).toThrow(/one of plain, json/);
  });
});

describe('parseListenAddress', () => {
  it('reads host and port; an empty host means every interface', () => {
    expect(parseListenAddress('--addr', ':8080')).toEqual({ host: '', port: 8080 });
    expect(parseListenAddress('--addr', '0.0.0.0:4143')).toEqual({ host: '0.0.0.0', port: 4143 });
    expect(parseListenAddress('--addr', '[::1]:4191')).toEqual({ host: '::1', port: 4191 });
    expect(parseListenAddress('--addr', 'localhost:0')).toEqual({ host: 'localhost', port: 0 });
  });
  it('rejects what cannot be bound, naming the setting', () => {
    expect(() => parseListenAddress('--addr', '8080')).toThrow(/--addr.*HOST:PORT/);
    expect(() => parseListenAddress('--addr', ':70000')).toThrow(/--addr/);
    expect(() => parseListenAddress('--addr', '[nope]:80')).toThrow(/not an IPv6 address/);
    expect(() => parseListenAddress('LINKERD2_PROXY_INBOUND_LISTEN_ADDR', 'localhost:4143', { requireIp: true })).toThrow(/LINKERD2_PROXY_INBOUND_LISTEN_ADDR.*not an IP address/);
  });
});
