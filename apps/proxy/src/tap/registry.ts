// The open taps. The data path asks `active` (one length check) before anything else, so while nobody taps a
// request costs no allocation and no call. With taps open, each request is matched once; a matching tap gives it a
// stream id and counts it against its limit. A tap at its limit takes no new requests and ends once the requests it
// took have ended (as Linkerd's does). Events go to the tap's sink, which never blocks: a sink that cannot take an
// event (its client reads too slowly) closes the tap.
import type { tap } from '@trellis/proto';
import { InvalidTapError, SlowTapClientError, type TapError } from './errors.ts';
import { compileMatch, type Matcher, type TapSubject } from './match.ts';

/** Where a tap's events go (the Observe response stream). */
export interface TapSink {
  /** Takes an event; false when it cannot (its buffer is full), which closes the tap. */
  push(event: tap.TapEvent): boolean;
  /** The tap ended: its limit reached and drained (no error), or closed for `err`. */
  end(err?: TapError): void;
}

export class OpenTap {
  /** StreamId.base of this tap's events: one per Observe call. */
  readonly base: number;
  readonly extractHeaders: boolean;
  readonly #matcher: Matcher;
  readonly #sink: TapSink;
  readonly #registry: TapRegistry;
  #remaining: number;
  #inFlight = 0;
  #nextStream = 0;
  #closed = false;

  constructor(registry: TapRegistry, base: number, req: tap.ObserveRequest, sink: TapSink) {
    if (!(req.limit > 0)) throw new InvalidTapError('limit must be greater than zero');
    this.#matcher = compileMatch(req.match);
    this.extractHeaders = req.extract?.extract?.$case === 'http' && req.extract.extract.value.extract?.$case === 'headers';
    this.#registry = registry;
    this.base = base;
    this.#remaining = req.limit;
    this.#sink = sink;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Takes the request if it matches and the limit allows: its stream id, or -1. */
  take(s: TapSubject): number {
    if (this.#closed || this.#remaining === 0 || !this.#matcher(s)) return -1;
    this.#remaining--;
    if (this.#remaining === 0) this.#registry.retire(this);
    this.#inFlight++;
    return this.#nextStream++;
  }

  /** Sends an event of a request this tap took; a full sink closes the tap. */
  emit(event: tap.TapEvent): void {
    if (this.#closed) return;
    if (!this.#sink.push(event)) this.close(new SlowTapClientError(this.#inFlight));
  }

  /** A request this tap took has ended (its last event sent): the tap ends after its last one at the limit. */
  requestEnded(): void {
    this.#inFlight--;
    if (this.#remaining === 0 && this.#inFlight === 0) this.close();
  }

  /** Ends the tap (the client went away, the proxy stops, or `err`). */
  close(err?: TapError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#registry.retire(this);
    this.#sink.end(err);
  }
}

export class TapRegistry {
  #taps: OpenTap[] = [];
  #nextBase = 0;

  /** Whether any tap takes new requests: the data path's only question while nobody taps. */
  get active(): boolean {
    return this.#taps.length !== 0;
  }

  get size(): number {
    return this.#taps.length;
  }

  /** Opens a tap; throws InvalidTapError for a request it cannot serve. */
  open(req: tap.ObserveRequest, sink: TapSink): OpenTap {
    const t = new OpenTap(this, this.#nextBase++, req, sink);
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
