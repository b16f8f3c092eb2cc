import { describe, expect, it } from 'vitest';
import type { tap } from '@trellis/proto';
import type { TapError } from './errors.ts';
import type { TapSubject } from './match.ts';
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

function sink(capacity = Infinity): TapSink & { events: tap.TapEvent[]; ended: (TapError | undefined)[] } {
  const events: tap.TapEvent[] = [];
  const ended: (TapError | undefined)[] = [];
  return {
    events,
    ended,
    push: (e) => {
      if (events.length >= capacity) return false;
      events.push(e);
      return true;
    },
    end: (err) => ended.push(err),
  };
}

const ev = {} as tap.TapEvent;

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
    const r = new TapRegistry();
    const s = sink(1);
    const t = r.open({ limit: 100, match: prefix('/'), extract: undefined }, s);
    r.match(subject('/'));
    t.emit(ev);
    t.emit(ev);
    expect(s.events).toHaveLength(1);
    expect(s.ended[0]?.code).toBe('TRELLIS_ERR_TAP_SLOW_CLIENT');
    expect(s.ended[0]?.grpcStatus).toBe(8);
    expect(r.active).toBe(false);
    t.emit(ev);
    expect(s.events).toHaveLength(1);
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
});
