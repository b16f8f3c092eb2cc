// Power of two choices over peak-EWMA (docs/reference/linkerd-proxy.md §5): only ready endpoints are candidates; two distinct
// ones are drawn at random and the cheaper wins (ties go to the first draw). With none ready, callers queue
// (bounded; a full queue sheds with 503); a caller still waiting after the failfast timeout gets 504 and shuts
// the gate, so later callers are shed at once until an endpoint is ready again. Removing an endpoint takes it
// out of the draw; requests already sent to it finish normally.
import { performance } from 'node:perf_hooks';
import { Breaker, type BreakerOptions } from './breaker.ts';
import { PeakEwma } from './ewma.ts';
import { BalancerShedError, FailFastError } from './errors.ts';

export interface BalancerOptions {
  /** Names the backend in errors. */
  readonly name: string;
  readonly failfastMs?: number;
  readonly queueCapacity?: number;
  readonly decayMs?: number;
  readonly defaultRttMs?: number;
  /** Failure accrual; off when undefined (Linkerd's default). */
  readonly breaker?: BreakerOptions;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** One dispatched request: report the first response byte and the end, exactly once each. */
export interface Picked<E> {
  readonly key: string;
  readonly endpoint: E;
  /** The RTT sample: time to the first response body frame (HTTP) or connection (TCP). */
  firstByte(): void;
  /** The request is over; `success` feeds failure accrual. */
  done(success: boolean): void;
}

interface Member<E> {
  readonly key: string;
  readonly value: E;
  readonly ewma: PeakEwma;
  readonly breaker: Breaker | undefined;
  ready: boolean;
  removed: boolean;
  /** Called once the member is removed or replaced and its last request is done. */
  readonly onRetired: ((value: E) => void) | undefined;
}

interface Waiter<E> {
  resolve(p: Picked<E>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class Balancer<E> {
  readonly name: string;
  readonly #failfastMs: number;
  readonly #capacity: number;
  readonly #decayMs: number;
  readonly #defaultRttMs: number;
  readonly #breaker: BreakerOptions | undefined;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #members = new Map<string, Member<E>>();
  readonly #queue: Waiter<E>[] = [];
  #gateShut = false;
  #wake: NodeJS.Timeout | undefined;

  constructor(opts: BalancerOptions) {
    this.name = opts.name;
    this.#failfastMs = opts.failfastMs ?? 3_000;
    this.#capacity = opts.queueCapacity ?? 10_000;
    this.#decayMs = opts.decayMs ?? 10_000;
    this.#defaultRttMs = opts.defaultRttMs ?? 30;
    this.#breaker = opts.breaker;
    this.#now = opts.now ?? (() => performance.now());
    this.#random = opts.random ?? Math.random;
  }

  /**
   * Adds or replaces an endpoint (replaced ones keep their in-flight requests). Ready unless told otherwise.
   * `onRetired` runs once the endpoint has been removed or replaced and its last request is done: the moment
   * its connection can close without failing anything already sent to it.
   */
  add(key: string, value: E, ready = true, onRetired?: (value: E) => void): void {
    const old = this.#members.get(key);
    if (old) this.#retire(old);
    this.#members.set(key, {
      key,
      value,
      ewma: new PeakEwma(this.#defaultRttMs, this.#decayMs, this.#now()),
      breaker: this.#breaker ? new Breaker(this.#breaker, this.#random) : undefined,
      ready,
      removed: false,
      onRetired,
    });
    if (ready) this.#drain();
  }

  remove(key: string): void {
    const m = this.#members.get(key);
    if (!m) return;
    this.#members.delete(key);
    this.#retire(m);
  }

  #retire(m: Member<E>): void {
    m.removed = true;
    if (m.ewma.pending === 0) m.onRetired?.(m.value);
  }

  /** Connection state: a connecting or reconnecting endpoint is skipped. */
  setReady(key: string, ready: boolean): void {
    const m = this.#members.get(key);
    if (!m || m.ready === ready) return;
    m.ready = ready;
    if (ready) this.#drain();
  }

  get size(): number {
    return this.#members.size;
  }

  /** Endpoints by state: ready (connected and admitted by its breaker) or pending, for the endpoints gauge. */
  counts(): { ready: number; pending: number } {
    const now = this.#now();
    let ready = 0;
    for (const m of this.#members.values()) if (m.ready && (!m.breaker || m.breaker.state !== 'shut' || now >= m.breaker.shutUntil)) ready++;
    return { ready, pending: this.#members.size - ready };
  }

  /** Whether an endpoint is ready and admitted by its breaker now (a split skips backends that are not). */
  get available(): boolean {
    const now = this.#now();
    for (const m of this.#members.values()) if (m.ready && (!m.breaker || m.breaker.state !== 'shut' || now >= m.breaker.shutUntil)) return true;
    return false;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Load estimate of each endpoint, for tests and /debug. */
  snapshot(): { key: string; rttMs: number; pending: number; ready: boolean; breaker: string }[] {
    const now = this.#now();
    return [...this.#members.values()].map((m) => ({ key: m.key, rttMs: m.ewma.estimate(now), pending: m.ewma.pending, ready: m.ready, breaker: m.breaker?.state ?? 'off' }));
  }

  /** An endpoint now, or undefined when none is ready. */
  tryPick(): Picked<E> | undefined {
    const now = this.#now();
    const candidates: Member<E>[] = [];
    for (const m of this.#members.values()) if (m.ready && (!m.breaker || m.breaker.admits(now))) candidates.push(m);
    const n = candidates.length;
    if (n === 0) return undefined;
    let chosen = candidates[0] as Member<E>;
    if (n > 1) {
      const i = Math.floor(this.#random() * n);
      let j = Math.floor(this.#random() * (n - 1));
      if (j >= i) j++;
      const a = candidates[i] as Member<E>;
      const b = candidates[j] as Member<E>;
      chosen = b.ewma.cost(now) < a.ewma.cost(now) ? b : a;
    }
    return this.#dispatch(chosen, now);
  }

  /** An endpoint, waiting for one to become ready; rejects with FailFastError or BalancerShedError. */
  acquire(): Promise<Picked<E>> {
    if (this.#gateShut) {
      // The gate reopens as soon as anything is ready.
      const p = this.tryPick();
      if (!p) return Promise.reject(new BalancerShedError(this.name, 'in fail-fast'));
      this.#gateShut = false;
      return Promise.resolve(p);
    }
    if (this.#queue.length === 0) {
      const p = this.tryPick();
      if (p) return Promise.resolve(p);
    }
    if (this.#queue.length >= this.#capacity) return Promise.reject(new BalancerShedError(this.name, 'queue full'));
    return new Promise((resolve, reject) => {
      const w: Waiter<E> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#queue.indexOf(w);
          if (i >= 0) this.#queue.splice(i, 1);
          this.#gateShut = true;
          reject(new FailFastError(this.name, this.#failfastMs));
        }, this.#failfastMs),
      };
      this.#queue.push(w);
      this.#scheduleWake();
    });
  }

  #dispatch(m: Member<E>, start: number): Picked<E> {
    m.ewma.pending++;
    m.breaker?.dispatched();
    let sampled = false;
    let finished = false;
    const sample = () => {
      if (sampled) return;
      sampled = true;
      const now = this.#now();
      m.ewma.observe(now - start, now);
    };
    return {
      key: m.key,
      endpoint: m.value,
      firstByte: sample,
      done: (success) => {
        if (finished) return;
        finished = true;
        sample();
        m.ewma.pending--;
        if (m.removed && m.ewma.pending === 0) m.onRetired?.(m.value);
        if (m.breaker) {
          const before = m.breaker.state;
          m.breaker.record(success, this.#now());
          if (m.breaker.state !== before) this.#drain();
        }
      },
    };
  }

  #drain(): void {
    while (this.#queue.length > 0) {
      const p = this.tryPick();
      if (!p) break;
      this.#gateShut = false;
      const w = this.#queue.shift() as Waiter<E>;
      clearTimeout(w.timer);
      w.resolve(p);
    }
    if (this.#queue.length > 0) this.#scheduleWake();
  }

  /** Breakers reopen on a clock, not on an event: wake the queue when the first one may admit again. */
  #scheduleWake(): void {
    if (this.#wake || !this.#breaker) return;
    let soonest = Infinity;
    for (const m of this.#members.values()) if (m.ready && m.breaker?.state === 'shut') soonest = Math.min(soonest, m.breaker.shutUntil);
    if (soonest === Infinity) return;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#drain();
    }, Math.max(0, soonest - this.#now()));
  }

  /** Fails every waiting caller (discovery ended for good). */
  close(err: Error): void {
    for (const w of this.#queue.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    clearTimeout(this.#wake);
  }
}
