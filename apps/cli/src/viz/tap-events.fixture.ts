// Tap events as a tap API streams them, for the rendering tests.
import { durationFromMillis, tcpAddress, type tap } from '@trellis/proto';

export interface FixtureRequest {
  readonly base?: number;
  readonly stream: number;
  readonly inbound?: boolean;
  readonly src?: string;
  readonly srcPod?: string;
  readonly dstPod?: string;
  readonly method?: number;
  readonly path: string;
  readonly status?: number;
  readonly latencyMs: number;
  readonly grpcStatus?: number;
  readonly bytes?: number;
}

/** The three events of one request. */
export function requestEvents(r: FixtureRequest): tap.TapEvent[] {
  const inbound = r.inbound ?? true;
  const base = {
    source: tcpAddress(r.src ?? '10.244.0.10', 42658),
    sourceMeta: { labels: { ...(inbound ? { tls: 'true', client_id: 'web.emojivoto.serviceaccount.identity.trellis.cluster.local' } : {}), ...(r.srcPod ? { pod: r.srcPod, deployment: 'web', namespace: 'emojivoto' } : {}) } },
    routeMeta: undefined,
    destination: tcpAddress('10.244.0.12', 8080),
    destinationMeta: { labels: { ...(inbound ? {} : { tls: 'true' }), ...(r.dstPod ? { pod: r.dstPod, deployment: 'voting', namespace: 'emojivoto' } : {}) } },
    proxyDirection: inbound ? 1 : 2,
  } as const;
  const id = { base: r.base ?? 3, stream: BigInt(r.stream) };
  const http = (event: tap.TapEvent_Http['event']): tap.TapEvent => ({ ...base, event: { $case: 'http', value: { event } } });
  return [
    http({ $case: 'requestInit', value: { id, method: { type: { $case: 'registered', value: (r.method ?? 0) as 0 } }, scheme: undefined, authority: 'web-svc.emojivoto:80', path: r.path, headers: undefined } }),
    http({ $case: 'responseInit', value: { id, sinceRequestInit: durationFromMillis(r.latencyMs * 0.9), httpStatus: r.status ?? 200, headers: undefined } }),
    http({
      $case: 'responseEnd',
      value: {
        id,
        sinceRequestInit: durationFromMillis(r.latencyMs),
        sinceResponseInit: durationFromMillis(0.053),
        responseBytes: BigInt(r.bytes ?? 4560),
        eos: r.grpcStatus === undefined ? undefined : { end: { $case: 'grpcStatusCode', value: r.grpcStatus } },
        trailers: undefined,
      },
    }),
  ];
}
