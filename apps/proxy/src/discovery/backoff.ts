// Exponential backoff with jitter for reconnecting streams and endpoints (docs/reference/linkerd-proxy.md §4 "Reconnect":
// outbound 100 ms → 60 s, jitter 0.1). The random source is injectable for tests.
export class Backoff {
  readonly #min: number;
  readonly #max: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(opts: { minMs?: number; maxMs?: number; jitter?: number; random?: () => number } = {}) {
    this.#min = opts.minMs ?? 100;
    this.#max = opts.maxMs ?? 60_000;
    this.#jitter = opts.jitter ?? 0.1;
    this.#random = opts.random ?? Math.random;
  }

  /** The next delay: min·2^attempt capped at max, plus up to `jitter` of itself. */
  next(): number {
    const base = Math.min(this.#max, this.#min * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 62);
    return Math.round(base * (1 + this.#jitter * this.#random()));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
