// A policy target (target.ts): the route stage's value for one original destination routed by its OutboundPolicy,
// rebound on each watch update (never per request), its backends' balancers kept while the policy still names them.
// The backends here are `forward` ones (one address each): nothing is dialled until a request is sent.
import { durationFromMillis, outbound, tcpAddress } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import type { Discovery } from '../../discovery/discovery.ts';
import { requestFacts } from '../../policy/match.ts';
import { PolicyWatch } from '../../policy/policy-discovery.ts';
import type { MeshTls } from '../../tls/mesh-tls.ts';
import type { BackendSpec } from './compile.ts';
import { BoundDistribution, PolicyTarget, type PolicyBackend } from './target.ts';

// Forward backends need neither discovery nor TLS until a request is sent.
const noDiscovery = undefined as unknown as Discovery;
const noTls = undefined as unknown as MeshTls;
const quiet = { warn: () => undefined, debug: () => undefined };

const meta = (kind: string, name: string) => ({ kind: { $case: 'resource' as const, value: { group: 'policy.linkerd.io', kind, name, namespace: 'default', section: '', port: 0 } } });

function forwardTo(port: number): outbound.Backend {
  return outbound.Backend.fromPartial({
    metadata: meta('Service', `app-${port}`),
    queue: { capacity: 100, failfastTimeout: durationFromMillis(3_000) },
    kind: { $case: 'forward', value: { addr: tcpAddress('127.0.0.1', port), weight: 1 } },
  });
}

const toOne = (port: number) => outbound.HttpRoute_Distribution.fromPartial({ kind: { $case: 'firstAvailable', value: { backends: [{ backend: forwardTo(port) }] } } });

/** A random distribution over `[port, weight]` pairs. */
const split = (pairs: [number, number][]) =>
  outbound.HttpRoute_Distribution.fromPartial({ kind: { $case: 'randomAvailable', value: { backends: pairs.map(([port, weight]) => ({ backend: { backend: forwardTo(port) }, weight })) } } });

type Distribution = ReturnType<typeof toOne>;

/** A Detect policy whose HTTP/1 requests take `h1` and HTTP/2 requests `h2` (the same when not given). */
function httpPolicy(h1: Distribution, h2: Distribution = h1): outbound.OutboundPolicy {
  const routes = (d: Distribution) => ({ routes: [{ metadata: meta('HTTPRoute', 'books-route'), rules: [{ backends: d }] }] });
  return outbound.OutboundPolicy.fromPartial({
    metadata: meta('Service', 'books'),
    protocol: { kind: { $case: 'detect', value: { timeout: durationFromMillis(10_000), http1: routes(h1), http2: routes(h2), opaque: { routes: [] } } } },
  });
}

function target(first: outbound.OutboundPolicy, random?: () => number): { t: PolicyTarget; watch: PolicyWatch<outbound.OutboundPolicy>; released: () => number } {
  const watch = new PolicyWatch<outbound.OutboundPolicy>('10.96.0.10:80');
  let released = 0;
  const t = new PolicyTarget('10.96.0.10:80', first, { value: watch, release: () => void released++ }, noDiscovery, { tls: noTls, log: quiet, ...(random ? { random } : {}) });
  return { t, watch, released: () => released };
}

const get = requestFacts('GET', '/books', {});
const portOf = (b: PolicyBackend | undefined) => b?.authority;

describe('a policy target', () => {
  it("keeps a backend's balancer across an update that still names it, drops one the update no longer names, and leaves a request its rule", () => {
    const { t, watch, released } = target(httpPolicy(toOne(1001)));
    const before = t.rule(get, 'h1', false);
    const kept = before?.distribution.backends[0]?.backend;
    expect([portOf(kept), t.backendCount]).toEqual(['127.0.0.1:1001', 1]);

    watch.emit('update', httpPolicy(split([[1001, 1], [1002, 3]])));
    const added = t.rule(get, 'h1', false)?.distribution.backends;
    expect(added?.map((b) => portOf(b.backend))).toEqual(['127.0.0.1:1001', '127.0.0.1:1002']);
    expect(added?.[0]?.backend).toBe(kept);
    expect(t.backendCount).toBe(2);

    watch.emit('update', httpPolicy(toOne(1002)));
    expect(t.rule(get, 'h1', false)?.distribution.backends[0]?.backend).toBe(added?.[1]?.backend);
    expect(t.backendCount).toBe(1);
    // A request routed before the updates still holds the rule and backend it started with.
    expect(before?.distribution.backends[0]?.backend).toBe(kept);

    t.release();
    expect([released(), t.backendCount]).toEqual([1, 0]);
    // Released: later updates bind nothing.
    watch.emit('update', httpPolicy(toOne(1003)));
    expect(t.backendCount).toBe(0);
  });

  it('routes HTTP/1 and HTTP/2 requests by their own routes on a Detect policy', () => {
    const { t } = target(httpPolicy(toOne(1001), toOne(1002)));
    expect(portOf(t.rule(get, 'h1', false)?.distribution.pick()?.backend)).toBe('127.0.0.1:1001');
    expect(portOf(t.rule(get, 'h2', false)?.distribution.pick()?.backend)).toBe('127.0.0.1:1002');
    expect([t.opaque, t.grpc, t.opaqueRoute]).toEqual([false, false, undefined]);
  });

  it('splits a random distribution by its weights, with the random source it was given', () => {
    let r = 0;
    const { t } = target(httpPolicy(split([[1001, 1], [1002, 3]])), () => r);
    const d = t.rule(get, 'h1', false)?.distribution;
    const picks = [0, 0.2, 0.3, 0.99].map((x) => {
      r = x;
      return portOf(d?.pick()?.backend);
    });
    // Weight 1 of 4 goes to 1001: a draw under 0.25.
    expect(picks).toEqual(['127.0.0.1:1001', '127.0.0.1:1001', '127.0.0.1:1002', '127.0.0.1:1002']);
  });
});

describe('BoundDistribution', () => {
  const backend = (authority: string, available: boolean) => ({ spec: { kind: 'none', key: authority } as unknown as BackendSpec, backend: { authority, available } as unknown as PolicyBackend, filters: [] });

  it('takes the first backend that can take a request now, else the first; none when it has no backends', () => {
    const first = (...bs: ReturnType<typeof backend>[]) => new BoundDistribution('first', bs, bs.map(() => 1), () => 0);
    expect(first(backend('a', false), backend('b', true)).pick()?.backend.authority).toBe('b');
    const none = first(backend('a', false), backend('b', false));
    expect([none.pick()?.backend.authority, none.available]).toEqual(['a', false]);
    expect(first().pick()).toBeUndefined();
  });

  it('skips a random backend that cannot take a request when another can', () => {
    const d = new BoundDistribution('random', [backend('a', false), backend('b', true)], [9, 1], () => 0);
    expect([d.pick()?.backend.authority, d.available]).toEqual(['b', true]);
  });
});
