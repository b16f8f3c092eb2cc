import { parsePortRanges } from '@trellis/config';
import type { inbound } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { defaultServerMessage } from './server.ts';
import { InboundPolicies } from './policies.ts';
import { PolicyWatch } from '../../policy/policy-discovery.ts';

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

function setup(initialTimeoutMs = 50) {
  const watches = new Map<number, PolicyWatch<inbound.Server>>();
  const released: number[] = [];
  const discovery = {
    inbound: (port: number) => {
      let w = watches.get(port);
      if (!w) watches.set(port, (w = new PolicyWatch<inbound.Server>(String(port))));
      return { value: w, release: () => void released.push(port) };
    },
  };
  const policies = new InboundPolicies(discovery, {
    defaultPolicy: 'all-authenticated',
    clusterNetworks: [],
    detectTimeoutMs: 10_000,
    opaquePorts: parsePortRanges('X', '3306'),
    initialTimeoutMs,
    log: quiet,
  });
  const answer = (port: number, s: inbound.Server) => {
    const w = watches.get(port) as PolicyWatch<inbound.Server>;
    w.current = s;
    w.state = 'ok';
    w.emit('update', s);
  };
  return { policies, watches, released, answer };
}

const server = (name: string): inbound.Server => ({ ...defaultServerMessage('deny', [], 1000, false), labels: { group: 'policy.linkerd.io', kind: 'server', name } });

describe('InboundPolicies', () => {
  it('runs a port on the default until the first answer, which applies to everyone holding the port', async () => {
    const { policies, answer, released } = setup(10_000);
    const a = policies.lease(8080);
    const b = policies.lease(8080);
    expect(a.policy).toBe(b.policy);
    expect(a.policy.current.meta.name).toBe('all-authenticated');
    expect(a.policy.settled).toBe(false);
    const changes: string[] = [];
    a.policy.on('change', (s) => changes.push(s.meta.name));
    answer(8080, server('web'));
    await a.policy.ready;
    expect(a.policy.settled).toBe(true);
    expect(changes).toEqual(['web']);
    expect(a.policy.current.tcpAuthzs.map((x) => x.meta.name)).toEqual(['localhost']);
    a.release();
    expect(released).toEqual([8080]);
  });

  it('stops waiting after the initial timeout, counted from the watch, and keeps the default', async () => {
    const { policies } = setup(20);
    const p = policies.lease(9090).policy;
    const t0 = Date.now();
    await p.ready;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(p.settled).toBe(true);
    expect(p.current.meta.name).toBe('all-authenticated');
    // A later connection does not wait again.
    expect(policies.lease(9090).policy.settled).toBe(true);
  });

  it('goes back to the default when the controller has no policy, and marks an unusable Server invalid', () => {
    const { policies, watches, answer } = setup();
    const p = policies.lease(8080).policy;
    answer(8080, { ...server('web'), protocol: undefined });
    expect(p.current.invalid).toContain('proxy protocol');
    expect(p.current.meta.name).toBe('invalid');
    (watches.get(8080) as PolicyWatch<inbound.Server>).emit('rejected', 'unimplemented');
    expect(p.current.meta.name).toBe('all-authenticated');
  });

  it('gives the opaque ports an opaque default, and works without a controller', () => {
    const none = new InboundPolicies(undefined, { defaultPolicy: 'deny', clusterNetworks: [], detectTimeoutMs: 1000, opaquePorts: parsePortRanges('X', '3306'), initialTimeoutMs: 0, log: quiet });
    expect(none.lease(3306).policy.current.protocol).toBe('opaque');
    const web = none.lease(8080).policy;
    expect(web.current.protocol).toBe('detect');
    expect(web.settled).toBe(true);
    expect(none.lease(8080).policy).toBe(web);
  });
});
