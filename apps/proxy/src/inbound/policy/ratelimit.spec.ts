import { describe, expect, it } from 'vitest';
import { LocalRateLimit, rateLimitOf } from './ratelimit.ts';

function limit(o: { total?: number; identity?: number; overrides?: [number, string[]][] }) {
  let now = 0;
  const rl = new LocalRateLimit(
    {
      metadata: { kind: { $case: 'resource', value: { group: 'policy.linkerd.io', kind: 'HTTPLocalRateLimitPolicy', name: 'web-rl', namespace: 'ns', section: '', port: 0 } } },
      total: o.total === undefined ? undefined : { requestsPerSecond: o.total },
      identity: o.identity === undefined ? undefined : { requestsPerSecond: o.identity },
      overrides: (o.overrides ?? []).map(([rps, ids]) => ({ limit: { requestsPerSecond: rps }, clients: { identities: ids.map((name) => ({ name })) } })),
    },
    () => now,
  );
  return { rl, advance: (ms: number) => void (now += ms) };
}

const times = (n: number, f: () => unknown) => Array.from({ length: n }, f);

describe('LocalRateLimit', () => {
  it('admits requestsPerSecond requests at once, then refills continuously', () => {
    const { rl, advance } = limit({ total: 4 });
    expect(times(5, () => rl.check(''))).toEqual([undefined, undefined, undefined, undefined, 'total']);
    advance(250);
    expect(rl.check('')).toBeUndefined();
    expect(rl.check('')).toBe('total');
  });

  it('limits each identity apart (clients without one share a limit); overrides replace the per-identity limit', () => {
    const { rl } = limit({ identity: 2, overrides: [[3, ['vip.ns']]] });
    expect(times(3, () => rl.check('a.ns'))).toEqual([undefined, undefined, 'identity']);
    expect(times(3, () => rl.check('b.ns'))).toEqual([undefined, undefined, 'identity']);
    expect(times(3, () => rl.check(''))).toEqual([undefined, undefined, 'identity']);
    expect(times(4, () => rl.check('vip.ns'))).toEqual([undefined, undefined, undefined, 'identity']);
    expect(rl.meta).toEqual({ group: 'policy.linkerd.io', kind: 'HTTPLocalRateLimitPolicy', name: 'web-rl' });
  });

  it('checks the total limit first', () => {
    const { rl } = limit({ total: 1, identity: 5 });
    expect(rl.check('a')).toBeUndefined();
    expect(rl.check('b')).toBe('total');
  });

  it('is absent when the protocol sets no limit, or only zeros', () => {
    expect(rateLimitOf({ $case: 'opaque', value: {} })).toBeUndefined();
    expect(rateLimitOf({ $case: 'http1', value: { routes: [], localRateLimit: { metadata: undefined, total: { requestsPerSecond: 0 }, identity: undefined, overrides: [] } } })).toBeUndefined();
    expect(rateLimitOf({ $case: 'http2', value: { routes: [], localRateLimit: { metadata: undefined, total: { requestsPerSecond: 3 }, identity: undefined, overrides: [] } } })).toBeDefined();
  });
});
