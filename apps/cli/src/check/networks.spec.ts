import { describe, expect, it } from 'vitest';
import { parseNetworks } from './networks.ts';

describe('cluster networks', () => {
  const nets = parseNetworks('10.0.0.0/8,100.64.0.0/10, fd00::/8');

  it('contains addresses of its IPv4 and IPv6 CIDRs only', () => {
    expect(nets.contains('10.244.1.7')).toBe(true);
    expect(nets.contains('100.127.255.255')).toBe(true);
    expect(nets.contains('100.128.0.0')).toBe(false);
    expect(nets.contains('fd12::1')).toBe(true);
    expect(nets.contains('fe80::1')).toBe(false);
    expect(nets.contains('not-an-ip')).toBe(false);
  });

  it('contains a CIDR only when both of its ends are inside', () => {
    expect(nets.containsCidr('10.244.0.0/16')).toBe(true);
    expect(nets.containsCidr('100.96.0.0/11')).toBe(true);
    expect(nets.containsCidr('100.0.0.0/9')).toBe(false);
    expect(nets.containsCidr('fd00:10:244::/64')).toBe(true);
    expect(nets.containsCidr('fc00::/7')).toBe(false);
    expect(nets.containsCidr('10.0.0.0')).toBe(false);
  });
});
