// One Observe call served by every thread: a part of the tap in the main thread's registry and one in each worker,
// all with the same StreamId base and one shared quota (tap/quota.ts), so the limit and the stream ids are the
// call's. Events from every part go to the one response stream. The first part to end (the limit reached and
// nothing in flight, or a client too slow) ends the others; the stream ends when the last part has.
import type { tap } from '@trellis/proto';
import { SlowTapClientError, TapError } from '../tap/errors.ts';
import { TapQuota } from '../tap/quota.ts';
import type { TapHandle, TapOpener, TapRegistry, TapSink } from '../tap/registry.ts';
import type { FromWorker, ToWorker } from './messages.ts';

export interface TapPeers {
  readonly count: number;
  broadcast(msg: ToWorker): void;
}

interface Call {
  readonly sink: TapSink;
  pending: number;
  error: TapError | undefined;
  ending: boolean;
  closeLocal(err?: TapError): void;
}

export class ThreadedTaps implements TapOpener {
  readonly #local: TapRegistry;
  readonly #peers: TapPeers;
  readonly #calls = new Map<number, Call>();
  #nextId = 0;
  #nextBase = 0;

  constructor(local: TapRegistry, peers: TapPeers) {
    this.#local = local;
    this.#peers = peers;
  }

  open(req: tap.ObserveRequest, sink: TapSink): TapHandle {
    const id = this.#nextId++;
    const quota = new TapQuota(req.limit);
    const call: Call = { sink, pending: 1 + this.#peers.count, error: undefined, ending: false, closeLocal: () => undefined };
    // The local part validates the request first: an invalid one throws before any worker hears of it.
    const local = this.#local.open(
      req,
      {
        push: (events) => this.#push(id, call, events),
        end: (err) => this.#partEnded(id, call, err),
      },
      { base: this.#nextBase++, quota },
    );
    call.closeLocal = (err) => local.close(err);
    this.#calls.set(id, call);
    this.#peers.broadcast({ t: 'tap-open', id, req, base: local.base, quota: quota.buffer });
    return { base: local.base, close: (err) => this.#endAll(id, call, err) };
  }

  /** A worker's events or the end of its part. */
  deliver(msg: Extract<FromWorker, { t: 'tap-events' | 'tap-ended' }>): void {
    const call = this.#calls.get(msg.id);
    if (!call) return;
    if (msg.t === 'tap-events') {
      if (!this.#push(msg.id, call, Buffer.from(msg.events.buffer, msg.events.byteOffset, msg.events.byteLength))) this.#endAll(msg.id, call, new SlowTapClientError(0));
      return;
    }
    this.#partEnded(msg.id, call, msg.err ? new TapError(msg.err.code, msg.err.grpcStatus, msg.err.message) : undefined);
  }

  #push(id: number, call: Call, events: Buffer): boolean {
    if (call.ending && call.error) return true;
    if (!this.#calls.has(id)) return true;
    return call.sink.push(events);
  }

  #partEnded(id: number, call: Call, err: TapError | undefined): void {
    if (err && !call.error) call.error = err;
    call.pending--;
    if (!call.ending) this.#endAll(id, call, err);
    if (call.pending === 0) {
      this.#calls.delete(id);
      call.sink.end(call.error);
    }
  }

  #endAll(id: number, call: Call, err: TapError | undefined): void {
    if (call.ending) return;
    call.ending = true;
    if (err && !call.error) call.error = err;
    this.#peers.broadcast({ t: 'tap-close', id, abort: err !== undefined });
    call.closeLocal(err);
  }
}
