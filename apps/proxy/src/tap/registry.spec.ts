import { describe, expect, it } from 'vitest';
import { tap } from '@trellis/proto';
import type { TapError } from './errors.ts';
import type { TapSubject } from './match.ts';
import { encodeEventBase } from './events.ts';
import { TapQuota } from './quota.ts';
import { TapRegistry, type TapSink } from './registry.ts';

const subject = (path: string): TapSubject => ({
  sourceIp: '10.0.0.1',
  sourcePort: 1000,
  destinationIp: '10.0.0.2',
  destinationPort: 80,
  destinationLabels: {},
  routeLabels: {},
  scheme: 'http',
  method: 'GET',
  authority: 'a',
  path,
});

const prefix = (value: string): tap.ObserveRequest_Match => ({ match: { $case: 'http', value: { match: { $case: 'path', value: { match: { $case: 'prefix', value } } } } } });

/** A sink that records each batch it takes as the streams and kinds of its events; full after `capacity` batches. */
function sink(capacity = Infinity): TapSink & { batches: string[][]; ended: (TapError | undefined)[] } {
  const batches: string[][] = [];
  const ended: (TapError | undefined)[] = [];
  return {
    batches,
    ended,
    push: (b) => {
      if (batches.length >= capacity) return false;
      const events: string[] = [];
      for (let at = 0; at < b.length; at += 5 + b.readUInt32BE(at + 1)) {
        const e = tap.TapEvent.decode(b.subarray(at + 5, at + 5 + b.readUInt32BE(at + 1))).event?.value.event;
        events.push(`${e?.value.id?.stream}:${e?.$case}`);
      }
      batches.push(events);
      return true;
    },
    end: (err) => ended.push(err),
  };
}

const base = encodeEventBase(subject('/'), { direction: 'inbound' });
const never = { flushMs: 3_600_000, flushBytes: 1 << 30 };

describe('TapRegistry', () => {
  it('is inactive until a tap opens and again once the last one closes', () => {
    const r = new TapRegistry();
    expect(r.active).toBe(false);
    const t = r.open({ limit: 10, match: prefix('/'), extract: undefined }, sink());
    expect(r.active).toBe(true);
    t.close();
    expect(r.active).toBe(false);
  });

  it('gives each matching request a stream id under the tap base and skips the others', () => {
    const r = new TapRegistry();
    const a = r.open({ limit: 10, match: prefix('/a'), extract: undefined }, sink());
    const b = r.open({ limit: 10, match: prefix('/'), extract: undefined }, sink());
    expect(b.base).toBe(a.base + 1);
    expect(r.match(subject('/a/1'))?.map((h) => [h.tap.base, h.stream])).toEqual([[a.base, 0], [b.base, 0]]);
    expect(r.match(subject('/b'))?.map((h) => [h.tap.base, h.stream])).toEqual([[b.base, 1]]);
    expect(r.match(subject('/a/2'))?.map((h) => h.stream)).toEqual([1, 2]);
  });

  it('takes no request beyond the limit and ends once the taken ones have ended', () => {
    const r = new TapRegistry();
    const s = sink();
    const t = r.open({ limit: 2, match: prefix('/'), extract: undefined }, s);
    expect(r.match(subject('/1'))).toHaveLength(1);
    expect(r.match(subject('/2'))).toHaveLength(1);
    expect(r.active).toBe(false);
    expect(r.match(subject('/3'))).toBeUndefined();
    t.requestEnded();
    expect(s.ended).toEqual([]);
    t.requestEnded();
    expect(s.ended).toEqual([undefined]);
    expect(t.closed).toBe(true);
  });

  it('closes a tap whose sink is full with a slow-client error, and takes nothing more for it', () => {
    const r = new TapRegistry(never);
    const s = sink(1);
    const t = r.open({ limit: 100, match: prefix('/'), extract: undefined }, s);
    r.match(subject('/'));
    t.responseInit(base, 0, 1, 200);
    t.flush();
    t.responseEnd(base, 0, { sinceRequestMs: 1, sinceResponseMs: 0, bytes: 0 }, {});
    t.flush();
    expect(s.batches).toEqual([['0:responseInit']]);
    expect(s.ended[0]?.code).toBe('TRELLIS_ERR_TAP_SLOW_CLIENT');
    expect(s.ended[0]?.grpcStatus).toBe(8);
    expect(r.active).toBe(false);
    t.responseInit(base, 0, 1, 200);
    t.flush();
    expect(s.batches).toHaveLength(1);
  });

  it('sends the events of several requests in one batch, after the flush interval', async () => {
    const r = new TapRegistry({ flushMs: 20, flushBytes: 1 << 20 });
    const s = sink();
    const t = r.open({ limit: 100, match: prefix('/'), extract: undefined }, s);
    for (const path of ['/1', '/2']) {
      const stream = r.match(subject(path))?.[0]?.stream ?? -1;
      t.requestInit(base, stream, subject(path), undefined);
      t.responseInit(base, stream, 1, 200);
    }
    expect(s.batches).toEqual([]);
    await expect.poll(() => s.batches, { timeout: 2000, interval: 5 }).toEqual([['0:requestInit', '0:responseInit', '1:requestInit', '1:responseInit']]);
    t.responseEnd(base, 0, { sinceRequestMs: 2, sinceResponseMs: 1, bytes: 10 }, {});
    await expect.poll(() => s.batches.length, { timeout: 2000, interval: 5 }).toBe(2);
    expect(s.batches[1]).toEqual(['0:responseEnd']);
    t.close();
  });

  it('sends a batch at once when it reaches the size limit, and the last events as the tap ends at its limit', () => {
    const r = new TapRegistry({ flushMs: 3_600_000, flushBytes: 200 });
    const s = sink();
    const t = r.open({ limit: 2, match: prefix('/'), extract: undefined }, s);
    r.match(subject('/1'));
    r.match(subject('/2'));
    for (let i = 0; i < 10 && s.batches.length === 0; i++) t.responseInit(base, 0, 1, 200);
    expect(s.batches).toHaveLength(1);
    t.responseEnd(base, 0, { sinceRequestMs: 2, sinceResponseMs: 1, bytes: 10 }, {});
    t.requestEnded();
    t.responseEnd(base, 1, { sinceRequestMs: 2, sinceResponseMs: 1, bytes: 10 }, {});
    expect(s.batches).toHaveLength(1);
    t.requestEnded();
    expect(s.batches[1]).toEqual(['0:responseEnd', '1:responseEnd']);
    expect(s.ended).toEqual([undefined]);
  });

  it('refuses a zero limit and a bad match before opening anything', () => {
    const r = new TapRegistry();
    expect(() => r.open({ limit: 0, match: prefix('/'), extract: undefined }, sink())).toThrow(/limit must be greater than zero/);
    expect(() => r.open({ limit: 1, match: undefined, extract: undefined }, sink())).toThrow(/invalid tap: a match with no condition/);
    expect(r.active).toBe(false);
  });

  it('reads extract headers from the request', () => {
    const r = new TapRegistry();
    const t = r.open({ limit: 1, match: prefix('/'), extract: { extract: { $case: 'http', value: { extract: { $case: 'headers', value: {} } } } } }, sink());
    const u = r.open({ limit: 1, match: prefix('/'), extract: undefined }, sink());
    expect([t.extractHeaders, u.extractHeaders]).toEqual([true, false]);
  });

  it('shares one limit and one run of stream ids between the parts of a tap in two threads, and ends each part when the last request ends', () => {
    // Two registries stand for two threads; the second part's quota is the first's buffer, as a worker gets it.
    const quota = new TapQuota(3);
    const req = { limit: 3, match: prefix('/'), extract: undefined };
    const [sa, sb] = [sink(), sink()];
    const a = new TapRegistry(never).open(req, sa, { base: 7, quota });
    const rb = new TapRegistry(never);
    const b = rb.open(req, sb, { base: 7, quota: new TapQuota(0, quota.buffer) });
    expect([a.take(subject('/1')), b.take(subject('/2')), a.take(subject('/3'))]).toEqual([0, 1, 2]);
    expect([a.base, b.base]).toEqual([7, 7]);
    a.requestEnded();
    b.requestEnded();
    expect([sa.ended, sb.ended]).toEqual([[], []]);
    // The last one ends in the first thread: that part ends. The second part, still offered requests, takes no
    // more and ends as it finds nothing in flight anywhere.
    a.requestEnded();
    expect(sa.ended).toEqual([undefined]);
    expect(rb.active).toBe(true);
    expect(rb.match(subject('/4'))).toBeUndefined();
    expect(rb.active).toBe(false);
    expect(sb.ended).toEqual([undefined]);
  });
});
