import { describe, expect, it } from 'vitest';
import { TopTable } from './top-table.ts';
import { requestEvents } from './tap-events.fixture.ts';

describe('top table', () => {
  it('groups requests by source, destination, method and path, sorted by count, with latencies and success rate', () => {
    const t = new TopTable();
    const feed = (...evs: ReturnType<typeof requestEvents>[]) => evs.flat().forEach((e) => t.add(e));
    feed(
      requestEvents({ stream: 0, path: '/api/list', latencyMs: 2, srcPod: 'vote-bot-1', dstPod: 'web-1' }),
      requestEvents({ stream: 1, method: 1, path: '/api/vote', latencyMs: 1.5, srcPod: 'vote-bot-1', dstPod: 'web-1', status: 500 }),
      requestEvents({ stream: 2, path: '/api/list', latencyMs: 0.8, srcPod: 'vote-bot-1', dstPod: 'web-1' }),
      requestEvents({ stream: 3, method: 1, path: '/emojivoto.v1.VotingService/VoteDoughnut', latencyMs: 3, srcPod: 'web-1', dstPod: 'voting-1', grpcStatus: 2 }),
    );
    const rows = t.rows();
    expect(rows.map((r) => [r.path, r.count, r.successes])).toEqual([
      ['/api/list', 2, 2],
      ['/api/vote', 1, 0],
      ['/emojivoto.v1.VotingService/VoteDoughnut', 1, 0],
    ]);
    expect(rows[0]).toMatchObject({ bestMs: 0.8, worstMs: 2, lastMs: 0.8, source: 'vote-bot-1', destination: 'web-1' });
    expect(t.render().split('\n').slice(0, 3)).toEqual([
      'Source      Destination  Method  Path                                      Count  Best   Worst  Last   Success Rate',
      'vote-bot-1  web-1        GET     /api/list                                 2      800µs  2ms    800µs  100.00%',
      'vote-bot-1  web-1        POST    /api/vote                                 1      1.5ms  1.5ms  1.5ms  0.00%',
    ]);
  });

  it('merges sources with --hide-sources', () => {
    const t = new TopTable();
    [...requestEvents({ stream: 0, path: '/a', latencyMs: 1, srcPod: 'x' }), ...requestEvents({ base: 4, stream: 0, path: '/a', latencyMs: 2, srcPod: 'y', status: 503 })].forEach((e) => t.add(e));
    expect(t.render({ hideSources: true }).split('\n')[1]).toBe('10.244.0.12  GET     /a    2      1ms   2ms    1ms   50.00%');
  });
});
