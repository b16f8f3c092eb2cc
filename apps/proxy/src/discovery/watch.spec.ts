import { EventEmitter } from 'node:events';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WatchState } from '../identity/control-metrics.ts';
import { Backoff } from './backoff.ts';
import { ControlWatch } from './watch.ts';

class FakeStream extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
}

const TIMEOUTS = { initialMs: 3_000, idleMs: 300_000, lifetimeMs: 3_600_000 };

function setup() {
  const streams: FakeStream[] = [];
  const waiting: ((err?: Error) => void)[] = [];
  const states: (WatchState | undefined)[] = [];
  let reconnects = 0;
  const watch = new ControlWatch<string>(
    () => {
      const s = new FakeStream();
      streams.push(s);
      return s as unknown as ClientReadableStream<string>;
    },
    TIMEOUTS,
    {
      ready: (_deadline, cb) => waiting.push(cb),
      stats: { state: (s) => states.push(s), reconnected: () => reconnects++ },
      backoff: new Backoff({ minMs: 100, maxMs: 1_000, jitter: 0 }),
    },
  );
  const messages: [string, boolean][] = [];
  watch.on('message', (m, fresh) => messages.push([m, fresh]));
  return { watch, streams, waiting, states, messages, reconnects: () => reconnects };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ControlWatch', () => {
  it('subscribes only once the channel is connected, at start and after a failure', () => {
    const t = setup();
    t.watch.start();
    expect(t.streams).toHaveLength(0);
    expect(t.states).toEqual(['watching']);
    t.waiting.shift()?.();
    expect(t.streams).toHaveLength(1);
    t.streams[0]?.emit('data', 'a');
    expect(t.states.at(-1)).toBe('live');

    t.streams[0]?.emit('error', Object.assign(new Error('gone'), { code: 14 }));
    expect(t.reconnects()).toBe(1);
    expect(t.states.at(-1)).toBe('watching');
    vi.advanceTimersByTime(100);
    // The backoff has passed; the channel is still down: nothing is opened, however long that lasts.
    vi.advanceTimersByTime(60_000);
    expect(t.streams).toHaveLength(1);
    expect(t.waiting).toHaveLength(1);
    t.waiting.shift()?.();
    expect(t.streams).toHaveLength(2);
    t.streams[1]?.emit('data', 'b');
    expect(t.messages).toEqual([
      ['a', true],
      ['b', true],
    ]);
    t.watch.stop();
  });

  it('reports how long it was without a stream once a new one answers, split at the last subscription', () => {
    const t = setup();
    const recovered: { downMs: number; subscribedAfterMs: number }[] = [];
    t.watch.on('recovered', (r) => recovered.push(r));
    t.watch.start();
    t.waiting.shift()?.();
    t.streams[0]?.emit('data', 'a');
    expect(recovered).toEqual([]);
    t.streams[0]?.emit('error', Object.assign(new Error('gone'), { code: 14 }));
    vi.advanceTimersByTime(2_000);
    t.waiting.shift()?.();
    vi.advanceTimersByTime(500);
    t.streams[1]?.emit('data', 'b');
    t.streams[1]?.emit('data', 'c');
    expect(recovered).toEqual([{ downMs: 2_500, subscribedAfterMs: 2_000 }]);
    t.watch.stop();
  });

  it('asks again when a wait for the connection ends without one', () => {
    const t = setup();
    t.watch.start();
    t.waiting.shift()?.(new Error('deadline'));
    expect(t.streams).toHaveLength(0);
    expect(t.waiting).toHaveLength(1);
    t.waiting.shift()?.();
    expect(t.streams).toHaveLength(1);
    t.watch.stop();
  });

  it('spaces out streams a reachable control plane keeps failing by at most 1 s', () => {
    const t = setup();
    t.watch.start();
    t.waiting.shift()?.();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      t.streams.at(-1)?.emit('error', Object.assign(new Error('refused'), { code: 14 }));
      let waited = 0;
      while (t.waiting.length === 0) {
        vi.advanceTimersByTime(50);
        waited += 50;
      }
      delays.push(waited);
      t.waiting.shift()?.();
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    t.watch.stop();
  });

  it('stops waiting when stopped, and leaves no state behind', () => {
    const t = setup();
    t.watch.start();
    t.watch.stop();
    t.waiting.shift()?.();
    expect(t.streams).toHaveLength(0);
    expect(t.states.at(-1)).toBeUndefined();
  });
});
