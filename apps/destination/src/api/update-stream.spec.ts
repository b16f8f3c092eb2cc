import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../admin/metrics.ts';
import { ClusterIndex } from '../index/cluster-index.ts';
import { OpenStreams, serveUpdates, type Sink } from './update-stream.ts';

/** A stream whose client reads nothing once `room` messages are buffered (write returns false). */
class FakeCall extends EventEmitter {
  readonly written: number[] = [];
  ended = false;
  private readonly room: number;
  constructor(room: number) {
    super();
    this.room = room;
  }
  write(msg: number): boolean {
    this.written.push(msg);
    return this.written.length < this.room;
  }
  end(): this {
    this.ended = true;
    return this;
  }
}

function setup(capacity: number) {
  const index = new ClusterIndex();
  const metrics = createMetrics({ sizes: () => ({}), watchRestarts: () => ({}) }, { defaultMetrics: false });
  const streams = new OpenStreams();
  return { index, metrics, streams, deps: { index, metrics, streams, logger: pino({ level: 'silent' }), capacity } };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('serveUpdates', () => {
  it('sends the first messages at once and later ones after a subscribed topic changes, coalesced', async () => {
    const { index, deps } = setup(100);
    const call = new FakeCall(1000);
    let n = 0;
    serveUpdates(deps, call as unknown as Sink<number>, { api: 'destination.Get', topics: ['t'], onOverflow: () => undefined, compute: () => [++n] });
    expect(call.written).toEqual([1]);
    index['notify']('t');
    index['notify']('t');
    await tick();
    expect(call.written).toEqual([1, 2]);
  });

  it('ends a stream whose client stopped reading once its queue overflows, counting it, without touching others', async () => {
    const { index, deps, metrics, streams } = setup(3);
    const slow = new FakeCall(1);
    const fast = new FakeCall(1000);
    const errors: unknown[] = [];
    slow.on('error', (e) => errors.push(e));
    let overflows = 0;
    const opts = { api: 'destination.Get' as const, topics: ['t'], compute: () => [1, 2] };
    serveUpdates(deps, slow as unknown as Sink<number>, { ...opts, onOverflow: () => overflows++ });
    serveUpdates(deps, fast as unknown as Sink<number>, { ...opts, onOverflow: () => overflows++ });
    expect(streams.size).toBe(2);
    index['notify']('t');
    await tick();
    // slow: 1 written, then 1 + 2 queued (3 = capacity); the next message overflows.
    index['notify']('t');
    await tick();
    expect(overflows).toBe(1);
    expect(errors).toEqual([{ code: 8, details: 'update queue overflowed (capacity 3): the client reads too slowly' }]);
    expect(streams.size).toBe(1);
    expect(fast.written).toHaveLength(6);
    expect((await metrics.openStreams.get()).values[0]?.value).toBe(1);
  });

  it('times each change-driven update from the change to its write, but not the first message or changes that send nothing', async () => {
    const { index, deps, metrics } = setup(100);
    const call = new FakeCall(1000);
    let n = 0;
    serveUpdates(deps, call as unknown as Sink<number>, { api: 'destination.Get', topics: ['t'], onOverflow: () => undefined, compute: () => (++n === 3 ? [] : [n]) });
    const count = async () => (await metrics.updateLatency.get()).values.find((v) => v.metricName === 'destination_update_latency_seconds_count')?.value ?? 0;
    expect(await count()).toBe(0);
    index['notify']('t');
    await tick();
    expect(await count()).toBe(1);
    index['notify']('t');
    await tick();
    expect(call.written).toEqual([1, 2]);
    expect(await count()).toBe(1);
  });

  it('ends every open stream cleanly on shutdown', () => {
    const { deps, streams } = setup(100);
    const call = new FakeCall(1000);
    serveUpdates(deps, call as unknown as Sink<number>, { api: 'outbound.Watch', topics: [], onOverflow: () => undefined, compute: () => [] });
    streams.closeAll();
    expect(call.ended).toBe(true);
    expect(streams.size).toBe(0);
  });
});
