// TapEvents as Linkerd's tap streams them: request init, response init and response end of one request, each with
// the request's addresses, the metadata of both sides (TLS and identity, discovery labels) and its direction.
import { durationFromMillis, tcpAddress, type httpTypes, type tap } from '@trellis/proto';
import { httpMethodOf, schemeOf, type TapSubject } from './match.ts';

/** What the three events of one request share; built once per tapped request. */
export interface TapEventBase {
  readonly source: ReturnType<typeof tcpAddress>;
  readonly sourceMeta: tap.TapEvent_EndpointMeta;
  readonly destination: ReturnType<typeof tcpAddress>;
  readonly destinationMeta: tap.TapEvent_EndpointMeta;
  readonly routeMeta: tap.TapEvent_RouteMeta | undefined;
  readonly proxyDirection: tap.TapEvent_ProxyDirection;
}

export interface TapSides {
  readonly direction: 'inbound' | 'outbound';
  /** Inbound: the client's verified identity ('' when it sent none); undefined when not meshed. */
  readonly clientId?: string | undefined;
  /** Why an inbound connection has no identity (Linkerd's no_tls_reason), when it has none. */
  readonly noTlsReason?: string | undefined;
  /** Outbound: the identity the endpoint's certificate was checked against, when mTLS was used. */
  readonly serverId?: string | undefined;
  /** Outbound: the endpoint's discovery labels. */
  readonly destinationLabels?: Readonly<Record<string, string>> | undefined;
}

/** The shared part of a request's events, from the request's subject and what is known of both sides. */
export function eventBase(s: TapSubject, sides: TapSides): TapEventBase {
  const src: Record<string, string> = {};
  const dst: Record<string, string> = { ...(sides.destinationLabels ?? {}) };
  if (sides.direction === 'inbound') {
    if (sides.clientId) Object.assign(src, { tls: 'true', client_id: sides.clientId });
    else src['tls'] = sides.noTlsReason ?? 'no_identity';
  } else {
    // The app on this pod is the source: loopback, never TLS.
    src['tls'] = 'loopback';
    if (sides.serverId) Object.assign(dst, { tls: 'true', server_id: sides.serverId });
    else dst['tls'] = 'no_identity';
  }
  const routeLabels = Object.keys(s.routeLabels).length > 0 ? { labels: { ...s.routeLabels } } : undefined;
  return {
    source: tcpAddress(s.sourceIp, s.sourcePort),
    sourceMeta: { labels: src },
    destination: tcpAddress(s.destinationIp, s.destinationPort),
    destinationMeta: { labels: dst },
    routeMeta: routeLabels,
    proxyDirection: sides.direction === 'inbound' ? 1 : 2,
  };
}

function streamId(base: number, stream: number): tap.TapEvent_Http_StreamId {
  return { base, stream: BigInt(stream) };
}

function event(b: TapEventBase, http: tap.TapEvent_Http['event']): tap.TapEvent {
  return { ...b, event: { $case: 'http', value: { event: http } } };
}

/** Header pairs as the events carry them (values are bytes). */
export function headersOf(h: Readonly<Record<string, string | string[] | number | undefined>> | undefined): httpTypes.Headers | undefined {
  if (h === undefined) return undefined;
  const headers: httpTypes.Headers_Header[] = [];
  for (const [name, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.push({ name, value: Buffer.from(String(one)) });
  }
  return { headers };
}

export function requestInitEvent(b: TapEventBase, base: number, stream: number, s: TapSubject, headers?: httpTypes.Headers): tap.TapEvent {
  return event(b, {
    $case: 'requestInit',
    value: { id: streamId(base, stream), method: httpMethodOf(s.method), scheme: schemeOf(s.scheme), authority: s.authority, path: s.path, headers },
  });
}

export function responseInitEvent(b: TapEventBase, base: number, stream: number, sinceRequestMs: number, status: number, headers?: httpTypes.Headers): tap.TapEvent {
  return event(b, {
    $case: 'responseInit',
    value: { id: streamId(base, stream), sinceRequestInit: durationFromMillis(sinceRequestMs), httpStatus: status, headers },
  });
}

/** How a response stream ended: its grpc-status, or the HTTP/2 reset code, or neither (a plain end). */
export interface TapEos {
  readonly grpcStatus?: number;
  readonly resetCode?: number;
}

export function responseEndEvent(
  b: TapEventBase,
  base: number,
  stream: number,
  t: { sinceRequestMs: number; sinceResponseMs: number; bytes: number },
  eos: TapEos,
  trailers?: httpTypes.Headers,
): tap.TapEvent {
  const end: tap.Eos['end'] =
    eos.grpcStatus !== undefined ? { $case: 'grpcStatusCode', value: eos.grpcStatus } : eos.resetCode !== undefined ? { $case: 'resetErrorCode', value: eos.resetCode } : undefined;
  return event(b, {
    $case: 'responseEnd',
    value: {
      id: streamId(base, stream),
      sinceRequestInit: durationFromMillis(t.sinceRequestMs),
      sinceResponseInit: durationFromMillis(t.sinceResponseMs),
      responseBytes: BigInt(t.bytes),
      eos: end === undefined ? undefined : { end },
      trailers,
    },
  });
}
