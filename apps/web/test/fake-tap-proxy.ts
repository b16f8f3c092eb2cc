// FAKE: a meshed pod's proxy as the tap API sees it (Linkerd's Tap gRPC service, plaintext grpc-js on loopback),
// streaming the events of made-up requests to every Observe: a named fake so that the live tap test runs without
// root (a real proxy carrying requests needs the pod's network namespace and iptables:
// live-tap-real-proxy.root.cluster.spec.ts is that twin; tools/e2e taps the demo's real proxies). Everything between
// it and the browser is real: the tap API, the API server's aggregation layer, the dashboard's server.
import * as grpc from '@grpc/grpc-js';
import { durationFromMillis, tcpAddress, TapService, type tap } from '@trellis/proto';

export interface FakeTapProxy {
  readonly port: number;
  /** Observe calls open now (the dashboard closes its tap when the page stops it). */
  open(): number;
  close(): void;
}

/** One request's three events as web's inbound proxy streams them; status 500 for a failing one. */
function request(stream: number, path: string, status: number, latencyMs: number): tap.TapEvent[] {
  const base = {
    source: tcpAddress('10.244.0.10', 42658),
    sourceMeta: { labels: { tls: 'true', client_id: 'vote-bot.emojivoto.serviceaccount.identity.trellis.cluster.local' } },
    routeMeta: undefined,
    destination: tcpAddress('10.244.0.12', 8080),
    destinationMeta: { labels: {} },
    proxyDirection: 1,
  } as const;
  const id = { base: 0, stream: BigInt(stream) };
  const http = (event: tap.TapEvent_Http['event']): tap.TapEvent => ({ ...base, event: { $case: 'http', value: { event } } });
  return [
    http({ $case: 'requestInit', value: { id, method: { type: { $case: 'registered', value: 0 } }, scheme: undefined, authority: 'web-svc.emojivoto:80', path, headers: undefined } }),
    http({ $case: 'responseInit', value: { id, sinceRequestInit: durationFromMillis(latencyMs * 0.8), httpStatus: status, headers: undefined } }),
    http({ $case: 'responseEnd', value: { id, sinceRequestInit: durationFromMillis(latencyMs), sinceResponseInit: durationFromMillis(latencyMs * 0.2), responseBytes: 120n, eos: undefined, trailers: undefined } }),
  ];
}

/** Every `everyMs`, two requests: /api/list (always 200) and /api/vote (every third a 500). */
export async function startFakeTapProxy(everyMs = 200): Promise<FakeTapProxy> {
  const server = new grpc.Server();
  let open = 0;
  server.addService(TapService, {
    observe: (call: grpc.ServerWritableStream<tap.ObserveRequest, tap.TapEvent>) => {
      open++;
      let n = 0;
      const tick = () => {
        for (const e of [...request(n, '/api/list', 200, 1.5), ...request(n + 1, '/api/vote', n % 6 === 0 ? 500 : 200, 4 + (n % 5))]) call.write(e);
        n += 2;
      };
      tick();
      const timer = setInterval(tick, everyMs);
      let closed = false;
      const done = () => {
        if (closed) return;
        closed = true;
        open--;
        clearInterval(timer);
      };
      call.on('cancelled', done);
      call.on('close', done);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, open: () => open, close: () => server.forceShutdown() };
}
