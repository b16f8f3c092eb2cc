import { describe, expect, it } from 'vitest';
import { AddressPool, firewallRules, podEtcFiles, podNetworkNames } from './network.ts';

describe('node network naming and addressing', () => {
  it('names namespaces and veths from the pod uid within the 15-byte interface limit', () => {
    const n = podNetworkNames('0a1b2c3d-4e5f-6789-abcd-ef0123456789');
    expect(n).toEqual({ netns: 'trellis-pod-0a1b2c3d4e5f', hostVeth: 'tv0a1b2c3d4e5f' });
    expect(n.hostVeth.length).toBeLessThanOrEqual(15);
  });

  it('hands out addresses round-robin and reuses a freed one only after the others', () => {
    const pool = new AddressPool();
    const a = pool.allocate();
    const b = pool.allocate();
    expect([a, b]).toEqual(['10.244.0.2', '10.244.0.3']);
    pool.release(a);
    expect(pool.allocate()).toBe('10.244.0.4');
    for (let i = 5; i <= 254; i++) pool.allocate();
    expect(pool.allocate()).toBe('10.244.0.2');
    expect(() => pool.allocate()).toThrow(/no free pod address/);
  });

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

  it('writes resolv.conf with the cluster search path and the kube-dns address', () => {
    const etc = podEtcFiles({ hostname: 'web-1', ip: '10.244.0.9', namespace: 'emojivoto' });
    expect(etc['resolv.conf']).toBe('search emojivoto.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    expect(etc['hosts']).toContain('10.244.0.9\tweb-1\n');
  });
});
