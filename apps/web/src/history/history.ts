// A resource's history: the five range queries at once, each aligned to one grid of timestamps (what a chart with
// one x axis wants), gaps as null.
import { HISTORY_SERIES, type HistoryAnswer, type HistorySeriesName } from '../api-types.ts';
import type { PrometheusRangeClient, RangeSeries } from '../upstream/prometheus.ts';
import { historyQueries, type HistoryTarget } from './queries.ts';

export interface HistoryRequest {
  readonly target: HistoryTarget;
  readonly rangeSeconds: number;
  readonly stepSeconds: number;
  readonly adminPort: number;
  /** Seconds since the epoch. */
  readonly now: number;
}

/** The first series' points on the grid; a query grouped to one series has at most one. */
export function alignToGrid(series: readonly RangeSeries[], grid: readonly number[]): (number | null)[] {
  const byTime = new Map<number, number>();
  for (const [t, v] of series[0]?.points ?? []) if (Number.isFinite(v)) byTime.set(Math.round(t), v);
  return grid.map((t) => byTime.get(t) ?? null);
}

export async function history(prometheus: PrometheusRangeClient, r: HistoryRequest): Promise<HistoryAnswer> {
  const step = r.stepSeconds;
  // Whole steps, so that every query of the answer is evaluated at the same instants.
  const end = Math.floor(r.now / step) * step;
  const start = end - r.rangeSeconds;
  const grid: number[] = [];
  for (let t = start; t <= end; t += step) grid.push(t);
  const queries = historyQueries(r.target, r.adminPort, step);
  const results = await Promise.all(HISTORY_SERIES.map((name) => prometheus.queryRange({ query: queries[name], start, end, step })));
  const series = Object.fromEntries(HISTORY_SERIES.map((name, i) => [name, alignToGrid(results[i] ?? [], grid)])) as Record<HistorySeriesName, (number | null)[]>;
  return {
    resource: { type: r.target.type, namespace: r.target.namespace, name: r.target.name },
    rangeSeconds: r.rangeSeconds,
    stepSeconds: step,
    timestamps: grid,
    series,
  };
}
