// Tap clients for the tests: Linkerd's gRPC API through @grpc/grpc-js over mTLS with a certificate for any
// identity, and a raw HTTP/2 client that opens a tap and then stops reading (a stalled tap client).
import * as grpc from '@grpc/grpc-js';
import { connect as h2Connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { TapClient, tap } from '@trellis/proto';
import type { Credentials } from '../src/identity/credentials.ts';
import { frame } from '../src/tap/grpc-frames.ts';
import { OBSERVE_PATH } from '../src/tap/server.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';

export interface TapResult {
  readonly events: tap.TapEvent[];
  /** The stream's status: 0 when the tap ended at its limit. */
  readonly code: number;
  readonly details: string;
}

/** A grpc-js Tap client to `port` that presents `creds` and checks the proxy is `serverId`. */
export function tapClient(port: number, creds: Credentials, serverId: string): InstanceType<typeof TapClient> {
  const ssl = grpc.credentials.createSsl(Buffer.from(creds.tls.ca), Buffer.from(creds.tls.key), Buffer.from(creds.tls.cert), {
    checkServerIdentity: (_host, cert) => (cert.subjectaltname?.includes(serverId) ? undefined : new Error(`not ${serverId}: ${cert.subjectaltname}`)),
  });
  return new TapClient(`127.0.0.1:${port}`, ssl, { 'grpc.ssl_target_name_override': serverId, 'grpc.default_authority': serverId });
}

/** Runs one Observe to its end (the limit, an error, or `stopAfterMs`) and returns what it streamed. */
export function observe(client: InstanceType<typeof TapClient>, req: tap.ObserveRequest, stopAfterMs = 20_000): Promise<TapResult> {
  return new Promise((resolve) => {
    const events: tap.TapEvent[] = [];
    const call = client.observe(req);
    const timer = setTimeout(() => call.cancel(), stopAfterMs);
    call.on('data', (e: tap.TapEvent) => events.push(e));
    call.on('error', (err: grpc.ServiceError) => {
      clearTimeout(timer);
      resolve({ events, code: err.code, details: err.details });
    });
    call.on('end', () => {
      clearTimeout(timer);
      resolve({ events, code: 0, details: '' });
    });
  });
}

/** Opens a tap and never reads its events; `session` is closed by the caller. */
export function stalledTap(port: number, creds: Credentials, serverId: string, req: tap.ObserveRequest): { session: ClientHttp2Session; stream: ClientHttp2Stream } {
  const mesh = new MeshTls({ current: () => creds });
  const session = h2Connect(`https://${serverId}`, {
    createConnection: () => mesh.socket({ addr: `127.0.0.1:${port}`, host: '127.0.0.1', port, serverId, alpn: ['h2'] }),
  });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': OBSERVE_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  stream.end(frame(tap.ObserveRequest.encode(req).finish()));
  stream.pause();
  return { session, stream };
}

type M = tap.ObserveRequest_Match;
export const match = {
  all: (...matches: M[]): M => ({ match: { $case: 'all', value: { matches } } }),
  any: (...matches: M[]): M => ({ match: { $case: 'any', value: { matches } } }),
  not: (m: M): M => ({ match: { $case: 'not', value: m } }),
  pathPrefix: (value: string): M => ({ match: { $case: 'http', value: { match: { $case: 'path', value: { match: { $case: 'prefix', value } } } } } }),
  authority: (value: string): M => ({ match: { $case: 'http', value: { match: { $case: 'authority', value: { match: { $case: 'exact', value } } } } } }),
  method: (name: 'GET' | 'POST'): M => ({ match: { $case: 'http', value: { match: { $case: 'method', value: { type: { $case: 'registered', value: name === 'GET' ? 0 : 1 } } } } } }),
  scheme: (https: boolean): M => ({ match: { $case: 'http', value: { match: { $case: 'scheme', value: { type: { $case: 'registered', value: https ? 1 : 0 } } } } } }),
  destinationPort: (port: number): M => ({ match: { $case: 'destination', value: { match: { $case: 'ports', value: { min: port, max: port } } } } }),
  sourceNet: (ip: tap.ObserveRequest_Match_Tcp_Netmask['ip'], mask: number): M => ({ match: { $case: 'source', value: { match: { $case: 'netmask', value: { ip, mask } } } } }),
};

/** The `$case` and path of each event, for assertions. */
export function pathsOf(events: readonly tap.TapEvent[]): string[] {
  return events.flatMap((e) => (e.event?.value.event?.$case === 'requestInit' ? [e.event.value.event.value.path] : []));
}

export function kindsOf(events: readonly tap.TapEvent[]): string[] {
  return events.map((e) => e.event?.value.event?.$case ?? '?');
}
