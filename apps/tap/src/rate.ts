// The request's rate limit (`max_rps`) over the merged streams of all its pods: a token bucket refilled
// continuously, one token per request taken; a refused request's later events are dropped with it.

export class RateLimit {
  readonly #rps: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(rps: number, now: () => number = () => performance.now()) {
    this.#rps = rps;
    this.#now = now;
    this.#tokens = Math.max(1, rps);
    this.#at = now();
  }

  /** Whether one more request may be shown now. */
  take(): boolean {
    const t = this.#now();
    this.#tokens = Math.min(Math.max(1, this.#rps), this.#tokens + ((t - this.#at) / 1000) * this.#rps);
    this.#at = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
