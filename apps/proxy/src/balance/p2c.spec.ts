import { describe, expect, it } from 'vitest';
import { BalancerShedError, FailFastError } from './errors.ts';
import { Balancer } from './p2c.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `total` requests, `concurrency` at a time, each taking `delay(endpoint)` ms. Returns picks per endpoint. */
async function load(b: Balancer<string>, total: number, concurrency: number, delay: (e: string) => number, onEach?: (i: number) => void) {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      onEach?.(i);
      const p = await b.acquire();
      counts.set(p.endpoint, (counts.get(p.endpoint) ?? 0) + 1);
      await sleep(delay(p.endpoint));
      p.firstByte();
      p.done(true);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

describe('Balancer (P2C over peak-EWMA)', () => {
  it('sends the clear majority to the fast endpoint when the other is 10x slower', async () => {
    const b = new Balancer<string>({ name: 'emoji' });
    b.add('fast', 'fast');
    b.add('slow', 'slow');
    const counts = await load(b, 600, 8, (e) => (e === 'fast' ? 2 : 20));
    const fast = counts.get('fast') ?? 0;
    expect(fast / 600).toBeGreaterThan(0.75);
  });

  it('prefers the cheaper of the two draws and breaks ties toward the first', () => {
    let r = [0, 0];
    const b = new Balancer<string>({ name: 'x', random: () => r.shift() ?? 0, now: () => 0 });
    b.add('a', 'a');
    b.add('b', 'b');
    r = [0, 0];
    expect(b.tryPick()?.endpoint).toBe('a'); // tie: first draw (a); a now has one pending
    r = [0, 0];
    expect(b.tryPick()?.endpoint).toBe('b'); // a costs 2x now
  });

  it('removes an endpoint mid-load without losing any request already sent to it', async () => {
    const b = new Balancer<string>({ name: 'emoji' });
    b.add('a', 'a');
    b.add('b', 'b');
    let afterRemoval = 0;
    let removed = false;
    const counts = await load(b, 400, 16, () => 3, (i) => {
      if (i === 200) {
        b.remove('b');
        removed = true;
      }
    });
    // Everything completed (load() would have thrown otherwise) and b got nothing new after removal.
    expect((counts.get('a') ?? 0) + (counts.get('b') ?? 0)).toBe(400);
    expect(removed).toBe(true);
    for (let i = 0; i < 50; i++) {
      const p = b.tryPick();
      if (p?.endpoint === 'b') afterRemoval++;
      p?.done(true);
    }
    expect(afterRemoval).toBe(0);
  });

  it('serves a waiting request as soon as an endpoint appears', async () => {
    const b = new Balancer<string>({ name: 'emoji' });
    const waiting = b.acquire();
    expect(b.queued).toBe(1);
    b.add('a', 'a');
    expect((await waiting).endpoint).toBe('a');
  });

  it('with no endpoints fails with 504 after the 3 s failfast, then sheds with 503 until one is ready', async () => {
    const b = new Balancer<string>({ name: 'emoji-svc.emojivoto.svc.cluster.local:8080' });
    const started = performance.now();
    const err = await b.acquire().catch((e: unknown) => e);
    const waited = performance.now() - started;
    expect(err).toBeInstanceOf(FailFastError);
    expect((err as FailFastError).httpStatus).toBe(504);
    expect(waited).toBeGreaterThanOrEqual(2_990);
    expect(waited).toBeLessThan(3_500);
    const shed = await b.acquire().catch((e: unknown) => e);
    expect(shed).toBeInstanceOf(BalancerShedError);
    expect((shed as BalancerShedError).httpStatus).toBe(503);
    b.add('a', 'a');
    expect((await b.acquire()).endpoint).toBe('a');
  });

  it('sheds with 503 when the queue is full', async () => {
    const b = new Balancer<string>({ name: 'x', queueCapacity: 2, failfastMs: 50 });
    const w1 = b.acquire().catch((e: unknown) => e);
    const w2 = b.acquire().catch((e: unknown) => e);
    await expect(b.acquire()).rejects.toBeInstanceOf(BalancerShedError);
    await w1;
    await w2;
  });

  it('skips endpoints that are not ready (connecting) and uses them once ready', () => {
    const b = new Balancer<string>({ name: 'x' });
    b.add('a', 'a', false);
    expect(b.tryPick()).toBeUndefined();
    b.setReady('a', true);
    expect(b.tryPick()?.endpoint).toBe('a');
  });

  it('with failure accrual, stops sending to an endpoint after consecutive failures', () => {
    let t = 0;
    const b = new Balancer<string>({ name: 'x', now: () => t, breaker: { maxFailures: 3, minPenaltyMs: 1_000, maxPenaltyMs: 60_000, jitter: 0 } });
    b.add('bad', 'bad');
    b.add('good', 'good');
    let sawBad = 0;
    for (let i = 0; i < 200; i++) {
      const p = b.tryPick();
      if (!p) throw new Error('nothing ready');
      if (p.endpoint === 'bad') sawBad++;
      p.done(p.endpoint !== 'bad');
    }
    expect(sawBad).toBe(3);
    t = 1_000; // penalty over: one probe is admitted
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const p = b.tryPick();
      seen.add(p?.endpoint ?? '');
      p?.done(true);
    }
    expect(seen.has('bad')).toBe(true);
  });
});

describe('Balancer retirement', () => {
  it('retires a removed endpoint only after its last in-flight request is done', () => {
    const retired: string[] = [];
    const b = new Balancer<string>({ name: 'x' });
    b.add('a', 'a', true, (v) => retired.push(v));
    const p = b.tryPick();
    b.remove('a');
    expect(retired).toEqual([]);
    p?.done(true);
    expect(retired).toEqual(['a']);
    b.add('b', 'b', true, (v) => retired.push(v));
    b.add('b', 'b2', true, (v) => retired.push(v));
    expect(retired).toEqual(['a', 'b']);
  });
});
