// Event-loop delay as a Prometheus histogram, `process_event_loop_delay_seconds`: how late the loop ran a timer
// that was due, the stall every request waiting on this loop shares (a sync gzip, a GC pause, TLS work). Sampled
// by perf_hooks.monitorEventLoopDelay (a libuv timer in native code, no JS per sample); each scrape folds the
// samples into cumulative buckets.
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Upper bounds in seconds: fine below 10 ms, where a proxy's loop should stay, coarse above. */
export const EVENT_LOOP_DELAY_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

const NAME = 'process_event_loop_delay_seconds';

export interface EventLoopDelaySource {
  readonly count: number;
  readonly mean: number;
  readonly max: number;
  /** Percentile (0-100) -> value, in one pass over the histogram. */
  readonly percentiles: ReadonlyMap<number, number>;
}

export class EventLoopDelay {
  readonly #source: EventLoopDelaySource;
  readonly #stop: () => void;
  /** The timer's own interval, in ns: the native histogram records the time between ticks, not the delay. */
  readonly #resolutionNs: number;
  /** Samples at or below each bound (cumulative, as exposed). */
  readonly #cumulative = new Array<number>(EVENT_LOOP_DELAY_BUCKETS.length).fill(0);
  #count = 0;
  #sumSeconds = 0;

  /** A sampler on the loop at `resolutionMs`; tests pass a source of their own. */
  constructor(resolutionMs = 10, source?: EventLoopDelaySource) {
    this.#resolutionNs = resolutionMs * 1e6;
    if (source) {
      this.#source = source;
      this.#stop = () => undefined;
    } else {
      const h = monitorEventLoopDelay({ resolution: resolutionMs });
      h.enable();
      this.#source = h;
      this.#stop = () => h.disable();
    }
  }

  /**
   * Brings the buckets up to the native histogram, which is never reset: a reset also forgets when the timer last
   * ran, so the first delay after it (the stall of the scrape that reset it, say) would go unrecorded. One read of
   * its percentile distribution (a single pass; each percentile() call scans the whole histogram, ~0.4 ms): a bucket
   * holds the samples up to the highest percentile whose value is within its bound, so a sample between two
   * reported percentiles counts in a higher bucket (the tail is reported finely: 99.2, 99.6, ... 100). Buckets
   * and sum only grow, as Prometheus counters must.
   */
  fold(): void {
    const h = this.#source;
    const n = h.count;
    if (n === 0) return;
    const dist = [...h.percentiles].sort((x, y) => x[0] - y[0]);
    let at = 0;
    for (let i = 0; i < EVENT_LOOP_DELAY_BUCKETS.length; i++) {
      const bound = (EVENT_LOOP_DELAY_BUCKETS[i] as number) * 1e9 + this.#resolutionNs;
      while (at < dist.length && (dist[at] as [number, number])[1] <= bound) at++;
      // The value at percentile p is the ceil(p·n)th sample's: at least that many are within it. Near 100 the
      // reported percentiles are too coarse to tell the largest sample from the rest once n is large, so the
      // maximum says whether one lies beyond the bound.
      const within = h.max > bound ? n - 1 : n;
      const atOrBelow = at === 0 ? 0 : Math.min(within, Math.ceil(((dist[at - 1] as [number, number])[0] * n) / 100 - 1e-9));
      this.#cumulative[i] = Math.max(this.#cumulative[i] as number, atOrBelow);
    }
    this.#count = Math.max(this.#count, n);
    this.#sumSeconds = Math.max(this.#sumSeconds, (Math.max(0, h.mean - this.#resolutionNs) * n) / 1e9);
  }

  /** The histogram in Prometheus text, after folding what the sampler recorded since the last scrape. */
  render(): string {
    this.fold();
    let out = `# HELP ${NAME} Event loop delay: how late the loop ran a timer that was due.\n# TYPE ${NAME} histogram\n`;
    for (let i = 0; i < EVENT_LOOP_DELAY_BUCKETS.length; i++) out += `${NAME}_bucket{le="${EVENT_LOOP_DELAY_BUCKETS[i]}"} ${this.#cumulative[i]}\n`;
    out += `${NAME}_bucket{le="+Inf"} ${this.#count}\n${NAME}_sum ${this.#sumSeconds}\n${NAME}_count ${this.#count}\n`;
    return out;
  }

  close(): void {
    this.#stop();
  }
}
