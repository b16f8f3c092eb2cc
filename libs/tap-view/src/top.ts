// Linkerd's `top`: finished requests grouped by source, destination, method and path, with their count, best,
// worst and last latency (request start to response end) and success rate, most requested first.

/** A request whose end came: what top aggregates. */
export interface FinishedRequest {
  readonly source: string;
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  /** Request start to response end. */
  readonly latencyMs: number;
  /** HTTP status below 500, gRPC status OK, no reset. */
  readonly ok: boolean;
}

export interface TopRow {
  readonly source: string;
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  count: number;
  bestMs: number;
  worstMs: number;
  lastMs: number;
  successes: number;
}

const byCount = (a: TopRow, b: TopRow) => b.count - a.count || a.path.localeCompare(b.path);

export class TopRows {
  readonly #rows = new Map<string, TopRow>();

  add(d: FinishedRequest): void {
    const key = `${d.source}|${d.destination}|${d.method}|${d.path}`;
    let r = this.#rows.get(key);
    if (!r) this.#rows.set(key, (r = { source: d.source, destination: d.destination, method: d.method, path: d.path, count: 0, bestMs: d.latencyMs, worstMs: d.latencyMs, lastMs: d.latencyMs, successes: 0 }));
    r.count++;
    r.bestMs = Math.min(r.bestMs, d.latencyMs);
    r.worstMs = Math.max(r.worstMs, d.latencyMs);
    r.lastMs = d.latencyMs;
    if (d.ok) r.successes++;
  }

  /** The rows, most requests first (then by path). */
  rows(): TopRow[] {
    return [...this.#rows.values()].sort(byCount);
  }

  /** The rows without their source: rows that differed only by it are merged (`viz top --hide-sources`). */
  withoutSources(): TopRow[] {
    const merged = new Map<string, TopRow>();
    for (const r of this.rows()) {
      const k = `${r.destination}|${r.method}|${r.path}`;
      const m = merged.get(k);
      if (m === undefined) merged.set(k, { ...r, source: '' });
      else {
        m.count += r.count;
        m.successes += r.successes;
        m.bestMs = Math.min(m.bestMs, r.bestMs);
        m.worstMs = Math.max(m.worstMs, r.worstMs);
      }
    }
    return [...merged.values()].sort(byCount);
  }
}

/** A latency as Linkerd's top prints it: microseconds below a millisecond, else ms (or s) with up to three decimals. */
export function formatLatency(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}\u00b5s`;
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}
