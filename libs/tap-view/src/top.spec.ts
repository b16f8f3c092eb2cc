import { describe, expect, it } from 'vitest';
import { formatLatency, TopRows, type FinishedRequest } from './top.ts';

const req = (over: Partial<FinishedRequest>): FinishedRequest => ({ source: 'vote-bot-1', destination: 'web-1', method: 'GET', path: '/api/list', latencyMs: 1, ok: true, ...over });

describe('top rows', () => {
  it('groups finished requests by source, destination, method and path, most requested first, with best, worst and last latency', () => {
    const t = new TopRows();
    t.add(req({ latencyMs: 2 }));
    t.add(req({ method: 'POST', path: '/api/vote', latencyMs: 1.5, ok: false }));
    t.add(req({ latencyMs: 0.8 }));
    expect(t.rows()).toEqual([
      { source: 'vote-bot-1', destination: 'web-1', method: 'GET', path: '/api/list', count: 2, bestMs: 0.8, worstMs: 2, lastMs: 0.8, successes: 2 },
      { source: 'vote-bot-1', destination: 'web-1', method: 'POST', path: '/api/vote', count: 1, bestMs: 1.5, worstMs: 1.5, lastMs: 1.5, successes: 0 },
    ]);
  });

  it('merges rows that differ only by source when sources are hidden', () => {
    const t = new TopRows();
    t.add(req({ source: 'x', path: '/a', latencyMs: 1 }));
    t.add(req({ source: 'y', path: '/a', latencyMs: 2, ok: false }));
    expect(t.withoutSources()).toEqual([{ source: '', destination: 'web-1', method: 'GET', path: '/a', count: 2, bestMs: 1, worstMs: 2, lastMs: 1, successes: 1 }]);
  });

  it('formats latencies in \u00b5s, ms and s', () => {
    expect([formatLatency(0.4371), formatLatency(1.0924), formatLatency(2500)]).toEqual(['437\u00b5s', '1.092ms', '2.5s']);
  });
});
