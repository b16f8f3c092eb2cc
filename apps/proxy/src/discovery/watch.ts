// One long-lived control-plane stream kept alive (contracts §3.6): the first message must come within the
// initial timeout, later ones within the idle timeout, and no stream outlives the lifetime; breaking any of
// these, or the stream ending, re-subscribes after a backoff. NotFound, InvalidArgument and Unimplemented (an
// older control plane without this API) are answers, not failures: they are reported once and the watch stops.
import { EventEmitter } from 'node:events';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
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
}

/**
 * Control streams reconnect from 100 ms up to 10 s, not the 60 s of data-plane connections: after a control-plane
 * restart (or an outage of any length) new discovery and policy reach the proxy within seconds.
 */
export const CONTROL_BACKOFF = { minMs: 100, maxMs: 10_000, jitter: 0.1 } as const;

export class ControlWatch<T> extends EventEmitter<WatchEvents<T>> {
  readonly #open: () => ClientReadableStream<T>;
  readonly #timeouts: WatchTimeouts;
  readonly #backoff: Backoff;
  #stream: ClientReadableStream<T> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lifetime: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(open: () => ClientReadableStream<T>, timeouts: WatchTimeouts, backoff = new Backoff(CONTROL_BACKOFF)) {
    super();
    this.#open = open;
    this.#timeouts = timeouts;
    this.#backoff = backoff;
  }

  start(): this {
    this.#subscribe();
    return this;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#close();
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
      this.emit('message', msg, f);
    });
    stream.on('error', (err: ServiceError) => {
      if (err.code === status.NOT_FOUND || err.code === status.INVALID_ARGUMENT || err.code === status.UNIMPLEMENTED) {
        this.#close();
        this.#stopped = true;
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
    this.emit('reconnecting', err);
    this.#retry = setTimeout(() => this.#subscribe(), this.#backoff.next());
  }
}
