import { describe, expect, it } from 'vitest';
import { tap } from '@trellis/proto';
import { renderTapJson, renderTapLine } from './tap-render.ts';
import { requestEvents } from './tap-events.fixture.ts';

describe('tap lines', () => {
  it('prints req, rsp and end as Linkerd does', () => {
    const [req, rsp, end] = requestEvents({ stream: 0, path: '/api/list', latencyMs: 1.2133 });
    expect(renderTapLine(req as tap.TapEvent)).toBe('req id=3:0 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true :method=GET :authority=web-svc.emojivoto:80 :path=/api/list');
    expect(renderTapLine(rsp as tap.TapEvent)).toBe('rsp id=3:0 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true :status=200 latency=1091µs');
    expect(renderTapLine(end as tap.TapEvent)).toBe('end id=3:0 proxy=in  src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true duration=53µs response-length=4560B');
  });

  it('names the gRPC status and takes tls from the destination of outbound events', () => {
    const end = requestEvents({ stream: 7, inbound: false, method: 1, path: '/emojivoto.v1.VotingService/VoteDoughnut', latencyMs: 2, grpcStatus: 2 })[2] as tap.TapEvent;
    expect(renderTapLine(end)).toBe('end id=3:7 proxy=out src=10.244.0.10:42658 dst=10.244.0.12:8080 tls=true grpc-status=Unknown duration=53µs response-length=4560B');
  });

  it('adds each side’s resource and namespace in wide output', () => {
    const req = requestEvents({ stream: 1, path: '/api/vote', latencyMs: 1, srcPod: 'web-1', dstPod: 'voting-1' })[0] as tap.TapEvent;
    expect(renderTapLine(req, 'deployment')).toMatch(/:path=\/api\/vote src_res=deploy\/web src_ns=emojivoto dst_res=deploy\/voting dst_ns=emojivoto$/);
  });

  it('prints JSON that reads back as the same event', () => {
    const req = requestEvents({ stream: 1, path: '/api/vote', latencyMs: 1 })[0] as tap.TapEvent;
    expect(tap.TapEvent.fromJSON(JSON.parse(renderTapJson(req)))).toEqual(req);
  });
});
