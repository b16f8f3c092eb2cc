import { describe, expect, it } from 'vitest';
import type { PrometheusRangeClient, RangeRequest } from '../upstream/prometheus.ts';
import { alignToGrid, history } from './history.ts';
import { parseHistoryTarget } from './queries.ts';

describe('alignToGrid', () => {
  it('puts each point on its timestamp and leaves gaps and NaN (a quantile of nothing) as null', () => {
    const s = [{ labels: {}, points: [[100, 1], [130, Number.NaN], [145, 0.5]] as [number, number][] }];
    expect(alignToGrid(s, [100, 115, 130, 145])).toEqual([1, null, null, 0.5]);
    expect(alignToGrid([], [100, 115])).toEqual([null, null]);
  });
});

describe('history', () => {
  it('asks for whole steps ending now, the same instants for all five series', async () => {
    const seen: RangeRequest[] = [];
    // A recording client: what is under test is the request plan, not Prometheus (the dashboard test runs that).
    const recording: PrometheusRangeClient = {
      url: 'http://prometheus',
      async queryRange(r) {
        seen.push(r);
        return [{ labels: {}, points: [[r.end, 2]] }];
      },
    };
    const a = await history(recording, { target: parseHistoryTarget('deploy/web', 'emojivoto'), rangeSeconds: 300, stepSeconds: 5, adminPort: 4191, now: 1_000_007.9 });
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((r) => `${r.start}-${r.end}-${r.step}`))).toEqual(new Set(['999705-1000005-5']));
    expect(a.timestamps).toHaveLength(61);
    expect(a.timestamps.at(-1)).toBe(1_000_005);
    expect(a.series.rps.at(-1)).toBe(2);
    expect(a.series.p99[0]).toBeNull();
    expect(a.resource).toEqual({ type: 'deployment', namespace: 'emojivoto', name: 'web' });
  });
});
