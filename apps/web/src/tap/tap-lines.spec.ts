import { describe, expect, it } from 'vitest';
import { durationFromMillis, tcpAddress, type tap } from '@trellis/proto';
import { TapLines } from './tap-lines.ts';

const base = {
  source: tcpAddress('10.244.0.10', 42658),
  sourceMeta: { labels: { tls: 'true' } },
  routeMeta: undefined,
  destination: tcpAddress('10.244.0.12', 8080),
  destinationMeta: { labels: { pod: 'voting-5d9f' } },
  proxyDirection: 1,
} as const;
const http = (event: tap.TapEvent_Http['event']): tap.TapEvent => ({ ...base, event: { $case: 'http', value: { event } } });
const id = (stream: number) => ({ base: 0, stream: BigInt(stream) });

describe('TapLines', () => {
  it("prints each event as Linkerd's tap line and pairs a request's end with its init for top", () => {
    const t = new TapLines();
    expect(t.line(http({ $case: 'requestInit', value: { id: id(3), method: { type: { $case: 'registered', value: 1 } }, scheme: undefined, authority: 'voting-svc:8080', path: '/VoteDoughnut', headers: undefined } }))).toEqual({
      kind: 'req',
      text: 'req id=0:3 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true :method=POST :authority=voting-svc:8080 :path=/VoteDoughnut',
    });
    expect(t.line(http({ $case: 'responseInit', value: { id: id(3), sinceRequestInit: durationFromMillis(1.092), httpStatus: 200, headers: undefined } }))?.text).toBe(
      'rsp id=0:3 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true :status=200 latency=1092µs',
    );
    const end = t.line(http({ $case: 'responseEnd', value: { id: id(3), sinceRequestInit: durationFromMillis(1.5), sinceResponseInit: durationFromMillis(0.053), responseBytes: 45n, eos: { end: { $case: 'grpcStatusCode', value: 2 } }, trailers: undefined } }));
    expect(end).toEqual({
      kind: 'end',
      text: 'end id=0:3 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true grpc-status=Unknown duration=53µs response-length=45B',
      // gRPC Unknown is a failure though HTTP said 200; the destination is named by its pod.
      done: { source: '10.244.0.10', destination: 'voting-5d9f', method: 'POST', path: '/VoteDoughnut', latencyMs: 1.5, ok: false },
    });
  });

  it('prints an end whose init it never saw without a request for top', () => {
    const t = new TapLines();
    const end = t.line(http({ $case: 'responseEnd', value: { id: id(9), sinceRequestInit: undefined, sinceResponseInit: undefined, responseBytes: 0n, eos: undefined, trailers: undefined } }));
    expect(end?.done).toBeUndefined();
    expect(end?.kind).toBe('end');
  });
});
