// One long-lived control-plane stream kept alive (docs/reference/linkerd-contracts.md §3.6): the first message must come within the
// initial timeout, later ones within the idle timeout, and no stream outlives the lifetime; breaking any of
// these, or the stream ending, re-subscribes after a backoff, once the channel has a connection again (so a
// control plane that comes back is watched the moment it can be reached, not at the next backoff tick). NotFound,
// InvalidArgument and Unimplemented (an older control plane without this API) are answers, not failures: they
// are reported once and the watch stops.
import { EventEmitter } from 'node:events';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { WatchStats } from '../identity/control-metrics.ts';
import { Backoff } from './backoff.ts';

export interface WatchTimeouts {
  readonly initialMs: number;
  readonly idleMs: number;
  /** 0: unlimited. */
  readonly lifetimeMs: number;
}

export interface WatchEvents<T> {
  /** `fresh` is true for the first message of a (re)subscribed stream: it replaces what came before. */
  message: [T, boolean];
  /** The control plane said there is nothing to watch (NotFound, InvalidArgument, Unimplemented); the watch has stopped. */
  rejected: [ServiceError];
  /** A stream broke and will be reopened; for logs and metrics. */
  reconnecting: [Error];
  /**
   * The first message after a break: how long the watch was without a stream, and how long of that it waited for a
   * connection before its last subscription (the rest is the controller's first answer). For logs.
   */
  recovered: [{ downMs: number; subscribedAfterMs: number }];
}

/**
 * Between a failed stream and the next subscription: 100 ms, doubling up to 1 s. The wait for a connection comes
 * after it (`ready`), so during an outage the watch does not spin, and the backoff only spaces out streams that a
 * reachable control plane keeps failing.
 */
export const CONTROL_BACKOFF = { minMs: 100, maxMs: 1_000, jitter: 0.1 } as const;

/** How long one wait for a connection lasts before it is asked again (each ask also prompts grpc-js to connect). */
const READY_WAIT_MS = 10_000;

export interface WatchOptions {
  /** Calls back once the client's channel is connected, or with an error at the deadline (grpc-js `waitForReady`). */
  readonly ready?: (deadline: number, cb: (err?: Error) => void) => void;
  readonly stats?: WatchStats;
  readonly backoff?: Backoff;
}

export class ControlWatch<T> extends EventEmitter<WatchEvents<T>> {
  readonly #open: () => ClientReadableStream<T>;
  readonly #timeouts: WatchTimeouts;
  readonly #backoff: Backoff;
  readonly #ready: WatchOptions['ready'];
  readonly #stats: WatchStats | undefined;
  #stream: ClientReadableStream<T> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lifetime: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  /** When the stream broke, until a message comes on a new one. */
  #brokenAt: number | undefined;

  constructor(open: () => ClientReadableStream<T>, timeouts: WatchTimeouts, o: WatchOptions = {}) {
    super();
    this.#open = open;
    this.#timeouts = timeouts;
    this.#backoff = o.backoff ?? new Backoff(CONTROL_BACKOFF);
    this.#ready = o.ready;
    this.#stats = o.stats;
  }

  /** The first subscription, too, waits for a connection: a control plane that is down is not a failure yet. */
  start(): this {
    this.#stats?.state('watching');
    this.#whenConnected();
    return this;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#close();
    this.#stats?.state(undefined);
  }

  #close(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#lifetime);
    const s = this.#stream;
    this.#stream = undefined;
    if (s) {
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.cancel();
    }
  }

  #arm(ms: number, why: string): void {
    clearTimeout(this.#timer);
    if (ms > 0) this.#timer = setTimeout(() => this.#broken(new Error(why)), ms);
  }

  #subscribe(): void {
    if (this.#stopped) return;
    let fresh = true;
    this.#stats?.state('watching');
    const subscribedAt = Date.now();
    const stream = this.#open();
    this.#stream = stream;
    this.#arm(this.#timeouts.initialMs, `no message within ${this.#timeouts.initialMs}ms of subscribing`);
    if (this.#timeouts.lifetimeMs > 0) {
      this.#lifetime = setTimeout(() => {
        // A planned renewal, not a failure: re-subscribe at once.
        this.#close();
        this.#subscribe();
      }, this.#timeouts.lifetimeMs);
    }
    stream.on('data', (msg: T) => {
      this.#backoff.reset();
      this.#arm(this.#timeouts.idleMs, `no message for ${this.#timeouts.idleMs}ms`);
      const f = fresh;
      fresh = false;
      if (f) this.#stats?.state('live');
      const brokenAt = this.#brokenAt;
      if (f && brokenAt !== undefined) {
        this.#brokenAt = undefined;
        this.emit('recovered', { downMs: Date.now() - brokenAt, subscribedAfterMs: subscribedAt - brokenAt });
      }
      this.emit('message', msg, f);
    });
    stream.on('error', (err: ServiceError) => {
      if (err.code === status.NOT_FOUND || err.code === status.INVALID_ARGUMENT || err.code === status.UNIMPLEMENTED) {
        this.#close();
        this.#stopped = true;
        this.#stats?.state(undefined);
        this.emit('rejected', err);
        return;
      }
      this.#broken(err);
    });
    stream.on('end', () => this.#broken(new Error('stream ended')));
  }

  #broken(err: Error): void {
    if (this.#stopped) return;
    this.#close();
    this.#brokenAt ??= Date.now();
    this.#stats?.state('watching');
    this.#stats?.reconnected();
    this.emit('reconnecting', err);
    this.#retry = setTimeout(() => this.#whenConnected(), this.#backoff.next());
  }

  /** Subscribes once the channel is connected; asks again while it is not. */
  #whenConnected(): void {
    if (this.#stopped) return;
    const ready = this.#ready;
    if (!ready) return this.#subscribe();
    ready(Date.now() + READY_WAIT_MS, (err) => {
      if (this.#stopped) return;
      if (err) this.#whenConnected();
      else this.#subscribe();
    });
  }
}
