import { durationFromMillis, outbound, tcpAddress } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import type { Discovery } from '../../discovery/discovery.ts';
import type { Lease } from '../../discovery/leases.ts';
import type { LogicalTarget, OutboundResolver, Resolution } from '../../discovery/outbound.ts';
import { PolicyWatch, type PolicyDiscovery } from '../../policy/policy-discovery.ts';
import type { MeshTls } from '../../tls/mesh-tls.ts';
import { resolveOutbound, whenPolicyArrives, type ResolveParts } from './resolve.ts';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined };
const meta = (kind: string, name: string) => ({ kind: { $case: 'resource' as const, value: { group: 'policy.linkerd.io', kind, name, namespace: 'default', section: '', port: 0 } } });

/** A policy sending every HTTP request to 127.0.0.1:port (a forward backend: no Destination stream is opened). */
function policy(port: number): outbound.OutboundPolicy {
  const backend = outbound.Backend.fromPartial({ metadata: meta('Service', 'books'), queue: { capacity: 100, failfastTimeout: durationFromMillis(300) }, kind: { $case: 'forward', value: { addr: tcpAddress('127.0.0.1', port), weight: 1 } } });
  const http = { routes: [{ metadata: meta('HTTPRoute', 'books-route'), rules: [{ backends: { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend }] } } } }] }] };
  return outbound.OutboundPolicy.fromPartial({ metadata: meta('Service', 'books'), protocol: { kind: { $case: 'detect', value: { timeout: durationFromMillis(10_000), http1: http, http2: http, opaque: { routes: [] } } } } });
}

/**
 * FAKE discovery parts: the profile resolver answers `profiled`; the policy API is one watch whose state the test
 * sets; each lease taken and released is counted.
 */
function parts(profiled: () => Resolution, withPolicy = true) {
  const watch = new PolicyWatch<outbound.OutboundPolicy>('10.96.0.10:80');
  const leases = { taken: 0, released: 0 };
  const policyDiscovery = {
    outbound: (): Lease<PolicyWatch<outbound.OutboundPolicy>> => {
      leases.taken++;
      return { value: watch, release: () => void leases.released++ };
    },
  } as unknown as PolicyDiscovery;
  const resolver = { resolve: async () => profiled(), options: { tls: undefined as unknown as MeshTls } } as unknown as OutboundResolver;
  const p: ResolveParts = { outbound: resolver, discovery: undefined as unknown as Discovery, policy: withPolicy ? policyDiscovery : undefined };
  return { p, watch, leases };
}

const answer = (w: PolicyWatch<outbound.OutboundPolicy>, pol: outbound.OutboundPolicy) => {
  w.current = pol;
  w.state = 'ok';
  w.emit('update', pol);
};

describe('resolveOutbound', () => {
  it('takes the profile\'s answer alone without a policy controller', async () => {
    const { p } = parts(() => ({ kind: 'forward' }), false);
    expect(await resolveOutbound(p, '10.96.0.10', 80, { log: quiet })).toEqual({ kind: 'forward' });
  });

  it('routes by the policy when it answers, keeping the service profile beside it', async () => {
    const logical = { name: 'books.default.svc.cluster.local:80', profile: { routes: [], dstOverrides: [] } } as unknown as LogicalTarget;
    const { p, watch, leases } = parts(() => ({ kind: 'logical', target: logical }));
    setTimeout(() => answer(watch, policy(8080)), 10);
    const r = await resolveOutbound(p, '10.96.0.10', 80, { log: quiet });
    expect(r.kind).toBe('policy');
    if (r.kind !== 'policy') return;
    expect(r.profile).toBe(logical);
    expect(r.target.addr).toBe('10.96.0.10:80');
    expect(r.target.parent.name).toBe('books');
    expect(leases).toEqual({ taken: 1, released: 0 });
    r.target.release();
    expect(leases.released).toBe(1);
  });

  it('drops a known pod\'s endpoint resolution once the policy routes the target', async () => {
    let endpointReleased = 0;
    const { p, watch } = parts(() => ({ kind: 'endpoint', endpoint: {} as never, release: () => void endpointReleased++ }));
    answer(watch, policy(8080));
    const r = await resolveOutbound(p, '10.244.0.7', 8080, { log: quiet });
    expect(r.kind).toBe('policy');
    expect(endpointReleased).toBe(1);
  });

  it('falls back to the profile when the controller says the target has no policy, and gives the lease back', async () => {
    const { p, watch, leases } = parts(() => ({ kind: 'forward' }));
    setTimeout(() => {
      watch.state = 'notFound';
      watch.emit('rejected', 'notFound');
    }, 10);
    expect(await resolveOutbound(p, '10.96.0.10', 80, { log: quiet })).toEqual({ kind: 'forward' });
    expect(leases).toEqual({ taken: 1, released: 1 });
  });

  it('does not wait past its timeout for a controller that does not answer', async () => {
    const { p, leases } = parts(() => ({ kind: 'forward' }));
    const t0 = Date.now();
    expect(await resolveOutbound(p, '10.96.0.10', 80, { log: quiet, timeoutMs: 50 })).toEqual({ kind: 'forward' });
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(leases.released).toBe(1);
  });
});

describe('whenPolicyArrives', () => {
  it('hands a policy that comes late to the target, which then routes by it', async () => {
    const { p, watch } = parts(() => ({ kind: 'forward' }));
    const adopted: string[] = [];
    whenPolicyArrives(p, '10.96.0.10', 80, { log: quiet }, (t) => adopted.push(t.parent.name));
    expect(adopted).toEqual([]);
    answer(watch, policy(8080));
    expect(adopted).toEqual(['books']);
  });

  it('gives the lease back when the wait is cancelled or the controller rejects the target', () => {
    const a = parts(() => ({ kind: 'forward' }));
    const cancel = whenPolicyArrives(a.p, '10.96.0.10', 80, { log: quiet }, () => expect.unreachable());
    cancel();
    cancel();
    a.watch.emit('update', policy(8080));
    expect(a.leases).toEqual({ taken: 1, released: 1 });

    const b = parts(() => ({ kind: 'forward' }));
    whenPolicyArrives(b.p, '10.96.0.10', 80, { log: quiet }, () => expect.unreachable());
    b.watch.state = 'notFound';
    b.watch.emit('rejected', 'notFound');
    expect(b.leases).toEqual({ taken: 1, released: 1 });
  });
});
