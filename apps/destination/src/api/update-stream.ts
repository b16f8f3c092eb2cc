// A server stream fed from the index: recomputes when a subscribed topic changes (coalesced to once per
// turn of the event loop), sends what `compute` returns through a bounded queue, and ends the stream
// when the queue overflows, so one slow client never holds memory or blocks the others.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from '@trellis/telemetry';
import type { Api, Metrics } from '../admin/metrics.ts';
import { QueueOverflowError } from '../errors.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import { grpcStatus } from './grpc-status.ts';

/** The streams open on a server, so that shutdown can end them cleanly. */
export class OpenStreams {
  private readonly closers = new Set<() => void>();
  add(close: () => void): () => void {
    this.closers.add(close);
    return () => this.closers.delete(close);
  }
  get size(): number {
    return this.closers.size;
  }
  closeAll(): void {
    for (const close of [...this.closers]) close();
  }
}

/** What a stream needs from the server around it. */
export interface StreamDeps {
  readonly index: ClusterIndex;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly streams: OpenStreams;
  readonly capacity: number;
}

/** The part of a grpc-js server stream this module uses (a fake in unit tests). */
export type Sink<T> = Pick<ServerWritableStream<unknown, T>, 'write' | 'once' | 'on' | 'end' | 'emit'>;

export interface UpdateStreamOptions<T> {
  readonly api: Api;
  readonly topics: readonly string[];
  /** The messages to send now (already diffed against what was sent before). */
  readonly compute: () => readonly T[];
  readonly onOverflow: () => void;
}

export function serveUpdates<T>(deps: StreamDeps, call: Sink<T>, opts: UpdateStreamOptions<T>): void {
  const { metrics, api } = { metrics: deps.metrics, api: opts.api };
  const pending: T[] = [];
  let blocked = false;
  let closed = false;
  let scheduled = false;
  /** performance.now() of the first change since the last run (undefined for the first message). */
  let changedAt: number | undefined;

  const cleanup = () => {
    if (closed) return false;
    closed = true;
    pending.length = 0;
    unsubscribe();
    unregister();
    metrics.openStreams.dec({ api });
    return true;
  };
  const fail = (err: unknown) => {
    if (cleanup()) call.emit('error', grpcStatus(err));
  };
  const flush = () => {
    while (!closed && !blocked && pending.length > 0) {
      const msg = pending.shift() as T;
      metrics.updatesSent.inc({ api });
      if (!call.write(msg)) {
        blocked = true;
        call.once('drain', () => {
          blocked = false;
          flush();
        });
      }
    }
  };
  const run = () => {
    if (closed) return;
    let msgs: readonly T[];
    try {
      msgs = opts.compute();
    } catch (err) {
      deps.logger.error({ err, api }, 'stream update failed');
      fail(err);
      return;
    }
    for (const m of msgs) {
      if (pending.length >= deps.capacity) {
        opts.onOverflow();
        deps.logger.warn({ api, capacity: deps.capacity }, 'stream update queue overflowed; ending the stream');
        fail(new QueueOverflowError(`update queue overflowed (capacity ${deps.capacity}): the client reads too slowly`));
        return;
      }
      pending.push(m);
    }
    flush();
    if (changedAt !== undefined && msgs.length > 0) metrics.updateLatency.observe({ api }, (performance.now() - changedAt) / 1000);
    changedAt = undefined;
  };
  const schedule = () => {
    if (scheduled || closed) return;
    scheduled = true;
    // The index notifies synchronously while it applies a watch event, so now is when the change arrived.
    changedAt = performance.now();
    setImmediate(() => {
      scheduled = false;
      run();
    });
  };

  metrics.openStreams.inc({ api });
  const unsubscribe = deps.index.subscribe(opts.topics, schedule);
  const unregister = deps.streams.add(() => {
    if (cleanup()) call.end();
  });
  call.on('cancelled', cleanup);
  call.on('error', () => cleanup());
  run();
}
