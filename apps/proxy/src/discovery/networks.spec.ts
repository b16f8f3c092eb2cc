import { parseCidrList } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';
import { inNetworks } from './networks.ts';

const NETS = parseCidrList('X', '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8');

describe('inNetworks', () => {
  it('matches addresses inside the injected cluster networks', () => {
    expect(inNetworks('10.42.0.7', NETS)).toBe(true);
    expect(inNetworks('100.127.255.255', NETS)).toBe(true);
    expect(inNetworks('172.31.0.1', NETS)).toBe(true);
    expect(inNetworks('fd12:3456::1', NETS)).toBe(true);
    expect(inNetworks('::ffff:192.168.1.1', NETS)).toBe(true);
  });
  it('rejects addresses outside them and anything that is not an IP', () => {
    expect(inNetworks('100.128.0.1', NETS)).toBe(false);
    expect(inNetworks('172.32.0.1', NETS)).toBe(false);
    expect(inNetworks('8.8.8.8', NETS)).toBe(false);
    expect(inNetworks('fe80::1', NETS)).toBe(false);
    expect(inNetworks('web.svc', NETS)).toBe(false);
    expect(inNetworks('10.0.0.1', [])).toBe(false);
  });
});

describe('Backoff', () => {
  it('doubles from the minimum up to the maximum, with bounded jitter, and resets', () => {
    const b = new Backoff({ minMs: 100, maxMs: 1000, jitter: 0.1, random: () => 1 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([110, 220, 440, 880, 1100]);
    b.reset();
    expect(b.next()).toBe(110);
  });
});
