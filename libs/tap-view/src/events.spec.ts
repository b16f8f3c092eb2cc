import { describe, expect, it } from 'vitest';
import { durationFromMillis, tcpAddress, type tap } from '@trellis/proto';
import { tapLineText, TapEvents } from './events.ts';

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

describe('TapEvents', () => {
  it("prints each event as Linkerd's tap line and pairs a request's end with its init for top", () => {
    const t = new TapEvents();
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
    const t = new TapEvents();
    const end = t.line(http({ $case: 'responseEnd', value: { id: id(9), sinceRequestInit: undefined, sinceResponseInit: undefined, responseBytes: 0n, eos: undefined, trailers: undefined } }));
    expect(end?.done).toBeUndefined();
    expect(end?.kind).toBe('end');
  });

  it('names the gRPC status and takes tls from the destination of outbound events', () => {
    const outbound = { ...base, sourceMeta: { labels: {} }, destinationMeta: { labels: { tls: 'true' } }, proxyDirection: 2 } as const;
    const end: tap.TapEvent = { ...outbound, event: { $case: 'http', value: { event: { $case: 'responseEnd', value: { id: id(7), sinceRequestInit: durationFromMillis(2), sinceResponseInit: durationFromMillis(0.053), responseBytes: 4560n, eos: { end: { $case: 'grpcStatusCode', value: 2 } }, trailers: undefined } } } } };
    expect(tapLineText(end)).toBe('end id=0:7 proxy=out src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true grpc-status=Unknown duration=53\u00b5s response-length=4560B');
  });

  it("adds each side's resource and namespace in the wide form", () => {
    const sides = { ...base, sourceMeta: { labels: { tls: 'true', deployment: 'web', namespace: 'emojivoto' } }, destinationMeta: { labels: { deployment: 'voting', namespace: 'emojivoto' } } } as const;
    const req: tap.TapEvent = { ...sides, event: { $case: 'http', value: { event: { $case: 'requestInit', value: { id: id(1), method: { type: { $case: 'registered', value: 0 } }, scheme: undefined, authority: 'web-svc:80', path: '/api/vote', headers: undefined } } } } };
    expect(tapLineText(req, 'deployment')).toMatch(/:path=\/api\/vote src_res=deploy\/web src_ns=emojivoto dst_res=deploy\/voting dst_ns=emojivoto$/);
  });
});
