import { Readable } from 'node:stream';
import { destination } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { RetryBudget } from './budget.ts';
import { bufferForRetry, RouteTimeoutError, sendWithRetries, withRouteTimeout } from './retry.ts';
import { compileRoute } from './routes.ts';
import { WeightedSplit } from './split.ts';

const retryable = compileRoute(destination.Route.fromPartial({ metricsLabels: { route: 'r' }, isRetryable: true }));

/** A deterministic stream of uniform numbers (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('retries within the budget', () => {
  it('recover a route failing 30% of requests while the budget caps retries at 20% plus the reserve', async () => {
    let t = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10, ttlMs: 10_000 }, () => t);
    const random = seeded(7);
    let sends = 0;
    let ok = 0;
    const N = 2_000;
    for (let i = 0; i < N; i++) {
      t = i * 5; // 200 requests per second, 10 s of traffic
      const r = await sendWithRetries({
        route: retryable,
        budget,
        replayable: true,
        send: async () => {
          sends++;
          return { status: random() < 0.3 ? 500 : 200, response: null };
        },
        discard: () => undefined,
      });
      if (r.status === 200) ok++;
    }
    const retries = sends - N;
    // Without retries 70% would succeed; retries recover most of the rest...
    expect(ok / N).toBeGreaterThan(0.85);
    // ...but never more than the budget: 20% of the requests in the 10 s window plus 10/s × 10 s, which here is
    // fewer than the ~780 retries full recovery would need, so some failures remain.
    expect(retries).toBeLessThanOrEqual(0.2 * N + 100);
    expect(ok).toBeLessThan(N);
  });

  it('stops retrying when the budget is spent', async () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, ttlMs: 1_000 }, () => 0);
    let sends = 0;
    const r = await sendWithRetries({ route: retryable, budget, replayable: true, send: async () => (sends++, { status: 503, response: null }), discard: () => undefined });
    // One deposit allows 0.2 + 1 (reserve) retries: one retry, then the failure is final.
    expect(sends).toBe(2);
    expect(r.status).toBe(503);
  });

  it('does not retry non-retryable routes, unbuffered bodies or raw errors', async () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10, ttlMs: 10_000 });
    const plain = compileRoute(destination.Route.fromPartial({}));
    let sends = 0;
    const send = async () => (sends++, { status: 500, response: null });
    await sendWithRetries({ route: plain, budget, replayable: true, send, discard: () => undefined });
    await sendWithRetries({ route: retryable, budget, replayable: false, send, discard: () => undefined });
    expect(sends).toBe(2);
    await expect(sendWithRetries({ route: retryable, budget, replayable: true, send: () => Promise.reject(new Error('reset')), discard: () => undefined })).rejects.toThrow('reset');
  });
});

describe('request bodies for replay', () => {
  it('buffers bodies up to 64 KiB', async () => {
    const r = await bufferForRetry(Readable.from([Buffer.alloc(1000), Buffer.alloc(2000)]), undefined);
    expect(r.replayable && r.body.length).toBe(3000);
  });
  it('gives up on a body declared or found larger than 64 KiB, keeping what was read', async () => {
    expect((await bufferForRetry(Readable.from([Buffer.alloc(10)]), 70_000)).replayable).toBe(false);
    const r = await bufferForRetry(Readable.from([Buffer.alloc(40_000), Buffer.alloc(40_000), Buffer.alloc(5)]), undefined);
    expect(r.replayable).toBe(false);
    if (!r.replayable) expect(r.prefix.length).toBe(80_000);
  });
});

describe('route timeout', () => {
  it('fires at its value with a 504 and cancels the work', async () => {
    const route = compileRoute(destination.Route.fromPartial({ metricsLabels: { route: 'slow' }, timeout: { seconds: 0n, nanos: 100_000_000 } }));
    let cancelled = false;
    const started = performance.now();
    const err = await withRouteTimeout(route, new Promise(() => undefined), () => (cancelled = true)).catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(RouteTimeoutError);
    expect((err as RouteTimeoutError).httpStatus).toBe(504);
    expect(cancelled).toBe(true);
    expect(took).toBeGreaterThanOrEqual(99);
    expect(took).toBeLessThan(400);
  });
});

describe('weighted split', () => {
  it('lands a 90/10 split within ±3% over 2,000 requests', () => {
    const split = new WeightedSplit([{ weight: 9000, backend: 'v1' }, { weight: 1000, backend: 'v2' }]);
    let v1 = 0;
    for (let i = 0; i < 2_000; i++) if (split.pick() === 'v1') v1++;
    expect(Math.abs(v1 / 2_000 - 0.9)).toBeLessThanOrEqual(0.03);
  });
  it('skips a backend that is not ready and gives up when none is', () => {
    const split = new WeightedSplit([{ weight: 9000, backend: 'v1' }, { weight: 1000, backend: 'v2' }]);
    for (let i = 0; i < 50; i++) expect(split.pick((b) => b === 'v2')).toBe('v2');
    expect(split.pick(() => false)).toBeUndefined();
  });
});
