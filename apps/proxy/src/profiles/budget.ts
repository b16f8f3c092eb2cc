// The ServiceProfile retry budget (docs/reference/linkerd-proxy.md §5 "Retries" B): a TPS budget over a sliding window of
// `ttl`. Every original request deposits; every retry withdraws. Retries are allowed while withdrawals stay
// within ratio × deposits plus a reserve of minPerSecond × ttl seconds (so low-traffic routes can retry too).
import type { RetryBudgetParams } from './routes.ts';

const SLOTS = 10;

export class RetryBudget {
  readonly #p: RetryBudgetParams;
  readonly #now: () => number;
  readonly #slotMs: number;
  readonly #deposits = new Float64Array(SLOTS);
  readonly #withdrawals = new Float64Array(SLOTS);
  #slot = 0;
  #slotStart: number;

  constructor(params: RetryBudgetParams, now: () => number = Date.now) {
    this.#p = params;
    this.#now = now;
    this.#slotMs = Math.max(1, params.ttlMs / SLOTS);
    this.#slotStart = now();
  }

  /** Moves the window forward, clearing slots that fell out of it. */
  #advance(): void {
    const now = this.#now();
    let steps = Math.floor((now - this.#slotStart) / this.#slotMs);
    if (steps <= 0) return;
    this.#slotStart += steps * this.#slotMs;
    steps = Math.min(steps, SLOTS);
    for (let i = 0; i < steps; i++) {
      this.#slot = (this.#slot + 1) % SLOTS;
      this.#deposits[this.#slot] = 0;
      this.#withdrawals[this.#slot] = 0;
    }
  }

  #sum(a: Float64Array): number {
    let s = 0;
    for (const v of a) s += v;
    return s;
  }

  deposit(): void {
    this.#advance();
    this.#deposits[this.#slot] = (this.#deposits[this.#slot] as number) + 1;
  }

  /** Takes one retry from the budget if it allows one. */
  withdraw(): boolean {
    this.#advance();
    const reserve = this.#p.minPerSecond * (this.#p.ttlMs / 1000);
    const allowed = this.#sum(this.#deposits) * this.#p.ratio + reserve;
    if (this.#sum(this.#withdrawals) + 1 > allowed) return false;
    this.#withdrawals[this.#slot] = (this.#withdrawals[this.#slot] as number) + 1;
    return true;
  }
}
