// The open taps. The data path asks `active` (one length check) before anything else, so while nobody taps a
// request costs no allocation and no call. With taps open, each request is matched once; a matching tap gives it a
// stream id and counts it against its limit. A tap at its limit takes no new requests and ends once the requests it
// took have ended (as Linkerd's does). A tap encodes its events into one buffer and hands them to its sink in one
// batch a few milliseconds later (one write to the client, not one per event). The sink never blocks: a sink that
// cannot take a batch (its client reads too slowly) closes the tap.
import type { tap } from '@trellis/proto';
import { InvalidTapError, SlowTapClientError, type TapError } from './errors.ts';
import { writeRequestInit, writeResponseEnd, writeResponseInit, type HeaderRecord, type TapEndTimes, type TapEos, type TapEventBase } from './events.ts';
import { compileMatch, type Matcher, type TapSubject } from './match.ts';
import { ProtoWriter } from './proto-writer.ts';
import { TapQuota } from './quota.ts';

/** Where a tap's events go (the Observe response stream). */
export interface TapSink {
  /** Takes a batch of events, each a gRPC message; false when it cannot (its client is too far behind), which closes the tap. */
  push(events: Buffer): boolean;
  /** The tap ended: its limit reached and drained (no error), or closed for `err`. */
  end(err?: TapError): void;
}

/** An open tap as the tap server holds it: this thread's tap, or one served by every thread. */
export interface TapHandle {
  readonly base: number;
  close(err?: TapError): void;
}

/** What opens taps for the tap server: the registry itself, or (worker threads) one that opens a part in each. */
export interface TapOpener {
  open(req: tap.ObserveRequest, sink: TapSink): TapHandle;
}

export interface TapBatching {
  /** How long events wait for others to share their write. */
  readonly flushMs: number;
  /** Pending bytes that are sent at once, without waiting. */
  readonly flushBytes: number;
}

// A write costs about the same for 20 KiB as for 60 (~0.4 ms of CPU each on a 2-core machine): fewer, fuller writes.
// 100 ms keeps the events a person watches prompt; 60 KiB stays under HTTP/2's default 64 KiB stream window, so a
// batch leaves in one go instead of waiting for the client's window update.
const DEFAULT_BATCHING: TapBatching = { flushMs: 100, flushBytes: 60 * 1024 };

export class OpenTap {
  /** StreamId.base of this tap's events: one per Observe call. */
  readonly base: number;
  readonly extractHeaders: boolean;
  readonly #matcher: Matcher;
  readonly #sink: TapSink;
  readonly #registry: TapRegistry;
  readonly #quota: TapQuota;
  #closed = false;
  readonly #out = new ProtoWriter();
  readonly #batching: TapBatching;
  #timer: NodeJS.Timeout | undefined;
  #flushPending = false;

  constructor(registry: TapRegistry, base: number, req: tap.ObserveRequest, sink: TapSink, batching: TapBatching = DEFAULT_BATCHING, quota?: TapQuota) {
    if (!(req.limit > 0)) throw new InvalidTapError('limit must be greater than zero');
    this.#batching = batching;
    this.#matcher = compileMatch(req.match);
    this.extractHeaders = req.extract?.extract?.$case === 'http' && req.extract.extract.value.extract?.$case === 'headers';
    this.#registry = registry;
    this.base = base;
    this.#quota = quota ?? new TapQuota(req.limit);
    this.#sink = sink;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Takes the request if it matches and the limit allows: its stream id, or -1. */
  take(s: TapSubject): number {
    if (this.#closed || !this.#matcher(s)) return -1;
    const stream = this.#quota.take();
    if (this.#quota.exhausted) this.#registry.retire(this);
    // The limit was reached in another thread: this part ends once nothing is in flight anywhere.
    if (stream < 0 && this.#quota.finished) this.close();
    return stream;
  }

  /** Queues a request's init, with its headers when the tap extracts them (`extractHeaders`). */
  requestInit(base: TapEventBase, stream: number, s: TapSubject, headers: HeaderRecord | undefined): void {
    if (this.#closed) return;
    writeRequestInit(this.#out, base, this.base, stream, s, this.extractHeaders ? headers : undefined);
    this.#queued();
  }

  responseInit(base: TapEventBase, stream: number, sinceRequestMs: number, status: number): void {
    if (this.#closed) return;
    writeResponseInit(this.#out, base, this.base, stream, sinceRequestMs, status);
    this.#queued();
  }

  responseEnd(base: TapEventBase, stream: number, t: TapEndTimes, eos: TapEos): void {
    if (this.#closed) return;
    writeResponseEnd(this.#out, base, this.base, stream, t, eos);
    this.#queued();
  }

  #queued(): void {
    if (this.#out.length >= this.#batching.flushBytes) {
      this.flush();
      return;
    }
    if (this.#flushPending) return;
    this.#flushPending = true;
    // One timer per tap, re-armed for each batch.
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), this.#batching.flushMs).unref();
    else this.#timer.refresh();
  }

  /** Hands the queued events to the sink now; a sink that cannot take them closes the tap. */
  flush(): void {
    this.#flushPending = false;
    if (this.#out.length === 0) return;
    if (!this.#sink.push(this.#out.take())) this.close(new SlowTapClientError(this.#quota.inFlight));
  }

  /** A request this tap took has ended (its last event sent): the tap ends after its last one at the limit. */
  requestEnded(): void {
    if (this.#quota.ended()) this.close();
  }

  /** Ends the tap (the client went away, the proxy stops, or `err`). */
  close(err?: TapError): void {
    if (this.#closed) return;
    // Ending normally, the events queued are the stream's last; a client too slow for them gets none.
    if (err === undefined) this.flush();
    if (this.#closed) return;
    this.#closed = true;
    this.#out.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#registry.retire(this);
    this.#sink.end(err);
  }
}

export class TapRegistry {
  #taps: OpenTap[] = [];
  #nextBase = 0;
  readonly #batching: TapBatching;

  constructor(batching: TapBatching = DEFAULT_BATCHING) {
    this.#batching = batching;
  }

  /** Whether any tap takes new requests: the data path's only question while nobody taps. */
  get active(): boolean {
    return this.#taps.length !== 0;
  }

  get size(): number {
    return this.#taps.length;
  }

  /**
   * Opens a tap; throws InvalidTapError for a request it cannot serve. `part`: this thread's part of a tap opened
   * in another (its base and shared quota).
   */
  open(req: tap.ObserveRequest, sink: TapSink, part?: { readonly base: number; readonly quota: TapQuota }): OpenTap {
    const t = new OpenTap(this, part ? part.base : this.#nextBase++, req, sink, this.#batching, part?.quota);
    // Copy on write: a request being matched keeps iterating the list it started with.
    this.#taps = [...this.#taps, t];
    return t;
  }

  /** The taps that take this request, each with its stream id; undefined when none does. */
  match(s: TapSubject): TapHit[] | undefined {
    let hits: TapHit[] | undefined;
    for (const t of this.#taps) {
      const stream = t.take(s);
      if (stream >= 0) (hits ??= []).push({ tap: t, stream });
    }
    return hits;
  }

  /** Stops offering requests to `t` (its limit reached, or closed). */
  retire(t: OpenTap): void {
    if (this.#taps.includes(t)) this.#taps = this.#taps.filter((x) => x !== t);
  }
}

export interface TapHit {
  readonly tap: OpenTap;
  readonly stream: number;
}
