// Failure accrual (docs/reference/linkerd-proxy.md §5 "Failure accrual"): after `maxFailures` consecutive failures the
// endpoint is shut for a backoff (min → max, jittered); then exactly one probe request is admitted: success
// reopens it, failure shuts it again for the next, longer backoff.
export interface BreakerOptions {
  readonly maxFailures: number;
  readonly minPenaltyMs: number;
  readonly maxPenaltyMs: number;
  readonly jitter: number;
}

export type BreakerState = 'open' | 'shut' | 'probation';

export class Breaker {
  readonly #opts: BreakerOptions;
  readonly #random: () => number;
  #failures = 0;
  #shutUntil = 0;
  #penalties = 0;
  #probing = false;
  state: BreakerState = 'open';

  constructor(opts: BreakerOptions, random: () => number = Math.random) {
    this.#opts = opts;
    this.#random = random;
  }

  /** Whether a request may go to this endpoint now; in probation, the first caller takes the probe. */
  admits(now: number): boolean {
    if (this.state === 'shut') {
      if (now < this.#shutUntil) return false;
      this.state = 'probation';
      this.#probing = false;
    }
    if (this.state === 'probation') return !this.#probing;
    return true;
  }

  /** Called when a request is dispatched (marks the probe as taken). */
  dispatched(): void {
    if (this.state === 'probation') this.#probing = true;
  }

  /** When the endpoint next becomes admissible, for waking the queue. */
  get shutUntil(): number {
    return this.#shutUntil;
  }

  record(success: boolean, now: number): void {
    if (this.state === 'shut') return; // Responses arriving while shut are ignored.
    if (success) {
      this.#failures = 0;
      if (this.state === 'probation') {
        this.state = 'open';
        this.#penalties = 0;
      }
      return;
    }
    this.#failures++;
    if (this.state === 'probation' || this.#failures >= this.#opts.maxFailures) this.#shut(now);
  }

  #shut(now: number): void {
    const base = Math.min(this.#opts.maxPenaltyMs, this.#opts.minPenaltyMs * 2 ** this.#penalties);
    this.#penalties = Math.min(this.#penalties + 1, 30);
    const jittered = base * (1 - this.#opts.jitter / 2 + this.#opts.jitter * this.#random());
    this.#shutUntil = now + Math.min(this.#opts.maxPenaltyMs, jittered);
    this.state = 'shut';
    this.#failures = 0;
  }
}
