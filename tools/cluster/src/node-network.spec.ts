import { describe, expect, it } from 'vitest';
import { firewallRules } from './node-network.ts';

describe('node network firewall', () => {
  it('lets pod and service ranges out only through the bridge and loopback', () => {
    const rules = firewallRules().map((r) => r.join(' '));
    expect(rules.slice(0, 2)).toEqual(['-o trellis0 -j RETURN', '-o lo -j RETURN']);
    for (const cidr of ['10.244.0.0/16', '10.96.0.0/16']) {
      for (const match of [`-s ${cidr}`, `-d ${cidr}`, `-m conntrack --ctorigsrc ${cidr}`, `-m conntrack --ctorigdst ${cidr}`]) {
        expect(rules).toContainEqual(expect.stringMatching(new RegExp(`^${match.replace(/[./-]/g, '\\$&')} .*-j DROP$`)));
      }
    }
    expect(rules).toHaveLength(10);
  });
});
