import { describe, expect, it } from 'vitest';
import { firewallRules, nodeNetwork } from './node-network.ts';

describe('node network firewall', () => {
  it('lets pod, service and node-link ranges out only through the bridge, the veths to further nodes and loopback', () => {
    const rules = firewallRules().map((r) => r.join(' '));
    expect(rules.slice(0, 3)).toEqual(['-o trellis0 -j RETURN', '-o lo -j RETURN', '-o trellis-v+ -j RETURN']);
    for (const cidr of ['10.244.0.0/16', '10.96.0.0/16', '10.243.0.0/16']) {
      for (const match of [`-s ${cidr}`, `-d ${cidr}`, `-m conntrack --ctorigsrc ${cidr}`, `-m conntrack --ctorigdst ${cidr}`]) {
        expect(rules).toContainEqual(expect.stringMatching(new RegExp(`^${match.replace(/[./-]/g, '\\$&')} .*-j DROP$`)));
      }
    }
    expect(rules).toHaveLength(15);
  });

  it('gives each further node its namespace, address, pod /24 and veth; the first node is the host', () => {
    expect(nodeNetwork(1, 'trellis-node')).toEqual({ index: 1, name: 'trellis-node', ip: '10.244.0.1', gateway: '10.244.0.1', podCidr: '10.244.0.0/24' });
    expect(nodeNetwork(3, 'trellis-node-3')).toEqual({ index: 3, name: 'trellis-node-3', netns: 'trellis-node-3', ip: '10.243.3.2', gateway: '10.244.2.1', podCidr: '10.244.2.0/24', veth: 'trellis-v3' });
  });
});
