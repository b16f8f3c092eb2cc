// A stand-in for a meshed pod's proxy (named as such: the real proxy's tap server needs the pod's network and
// iptables, which the API-server-only test cluster has not): Linkerd's Tap gRPC service over grpc-js, answering
// every Observe with the events of scripted requests, and recording the requests it was sent.
import * as grpc from '@grpc/grpc-js';
import { durationFromMillis, tcpAddress, TapService, type tap } from '@trellis/proto';

export interface StandInProxy {
  readonly port: number;
  readonly requests: tap.ObserveRequest[];
  close(): void;
}

/** The three events of request `stream` to `path` as an inbound proxy streams them. */
export function inboundRequest(stream: number, path: string): tap.TapEvent[] {
  const base = {
    source: tcpAddress('10.244.0.10', 42658),
    sourceMeta: { labels: { tls: 'true', client_id: 'web.emojivoto.serviceaccount.identity.trellis.cluster.local' } },
    routeMeta: undefined,
    destination: tcpAddress('127.0.0.1', 8080),
    destinationMeta: { labels: {} },
    proxyDirection: 1,
  } as const;
  const id = { base: 0, stream: BigInt(stream) };
  const http = (event: tap.TapEvent_Http['event']): tap.TapEvent => ({ ...base, event: { $case: 'http', value: { event } } });
  return [
    http({ $case: 'requestInit', value: { id, method: { type: { $case: 'registered', value: 1 } }, scheme: undefined, authority: 'web-svc:80', path, headers: undefined } }),
    http({ $case: 'responseInit', value: { id, sinceRequestInit: durationFromMillis(1.2), httpStatus: 200, headers: undefined } }),
    http({ $case: 'responseEnd', value: { id, sinceRequestInit: durationFromMillis(1.3), sinceResponseInit: durationFromMillis(0.1), responseBytes: 12n, eos: undefined, trailers: undefined } }),
  ];
}

export async function startStandInProxy(script: readonly tap.TapEvent[]): Promise<StandInProxy> {
  const server = new grpc.Server();
  const requests: tap.ObserveRequest[] = [];
  server.addService(TapService, {
    observe: (call: grpc.ServerWritableStream<tap.ObserveRequest, tap.TapEvent>) => {
      requests.push(call.request);
      for (const e of script) call.write(e);
      // Like a proxy whose tap has not reached its limit: the stream stays open until the client cancels.
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, requests, close: () => server.forceShutdown() };
}
