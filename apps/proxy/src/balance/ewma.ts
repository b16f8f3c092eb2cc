// Peak-EWMA load (docs/reference/linkerd-proxy.md §5 "Load of one endpoint"): cost = rtt_estimate × (pending + 1). Reading
// decays the estimate toward 0 with time constant `decay`; a slower sample than the estimate replaces it at
// once (the peak), a faster one is blended in by the same exponential weight.
export class PeakEwma {
  readonly #decayMs: number;
  #estimate: number;
  #at: number;
  pending = 0;

  constructor(defaultRttMs: number, decayMs: number, now: number) {
    this.#decayMs = decayMs;
    this.#estimate = Math.max(1, defaultRttMs);
    this.#at = now;
  }

  #decay(now: number): number {
    const dt = Math.max(0, now - this.#at);
    return Math.exp(-dt / this.#decayMs);
  }

  /** The RTT estimate at `now`, decayed. */
  estimate(now: number): number {
    const w = this.#decay(now);
    this.#estimate *= w;
    this.#at = now;
    return this.#estimate;
  }

  cost(now: number): number {
    return this.estimate(now) * (this.pending + 1);
  }

  observe(rttMs: number, now: number): void {
    const w = this.#decay(now);
    if (rttMs > this.#estimate) this.#estimate = rttMs;
    else this.#estimate = this.#estimate * w + rttMs * (1 - w);
    this.#at = now;
  }
}
