// TapEvents as Linkerd's tap streams them: request init, response init and response end of one request, each with
// the request's addresses, the metadata of both sides (TLS and identity, discovery labels) and its direction.
// The part every event of a connection shares is encoded once (the generated encoder) and kept per connection;
// the events themselves are written field by field into their stream's buffer, in the generated encoder's order,
// so the bytes are the ones it would produce.
import { tap, tcpAddress } from '@trellis/proto';
import { registeredMethod, type TapSubject } from './match.ts';
import type { ProtoWriter } from './proto-writer.ts';

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

/** The shared fields of a request's events (TapEvent without its event), as a message. */
export function eventBaseMessage(s: TapSubject, sides: TapSides): tap.TapEvent {
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
  return {
    source: tcpAddress(s.sourceIp, s.sourcePort),
    sourceMeta: { labels: src },
    routeMeta: Object.keys(s.routeLabels).length > 0 ? { labels: { ...s.routeLabels } } : undefined,
    destination: tcpAddress(s.destinationIp, s.destinationPort),
    destinationMeta: { labels: dst },
    proxyDirection: sides.direction === 'inbound' ? tap.TapEvent_ProxyDirection.INBOUND : tap.TapEvent_ProxyDirection.OUTBOUND,
    event: undefined,
  };
}

/** The shared fields of a request's events, encoded. */
export type TapEventBase = Buffer;

export function encodeEventBase(s: TapSubject, sides: TapSides): TapEventBase {
  const bytes = tap.TapEvent.encode(eventBaseMessage(s, sides)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface CachedBase {
  readonly s: TapSubject;
  readonly sides: TapSides;
  readonly bytes: TapEventBase;
}

// The last base encoded per connection (its socket): requests on one connection share addresses, identities and
// labels, so their events reuse the bytes. Held weakly: a closed connection takes its entry with it.
const basesByConnection = new WeakMap<object, CachedBase>();

function sameBase(a: CachedBase, s: TapSubject, sides: TapSides): boolean {
  const x = a.s;
  const y = a.sides;
  return (
    x.sourceIp === s.sourceIp &&
    x.sourcePort === s.sourcePort &&
    x.destinationIp === s.destinationIp &&
    x.destinationPort === s.destinationPort &&
    x.routeLabels === s.routeLabels &&
    y.direction === sides.direction &&
    y.clientId === sides.clientId &&
    y.noTlsReason === sides.noTlsReason &&
    y.serverId === sides.serverId &&
    y.destinationLabels === sides.destinationLabels
  );
}

/** The encoded base of a request's events, reused from the connection's last request when they share it. */
export function eventBaseOf(connection: object | undefined, s: TapSubject, sides: TapSides): TapEventBase {
  if (connection === undefined) return encodeEventBase(s, sides);
  const cached = basesByConnection.get(connection);
  if (cached !== undefined && sameBase(cached, s, sides)) return cached.bytes;
  const bytes = encodeEventBase(s, sides);
  basesByConnection.set(connection, { s, sides, bytes });
  return bytes;
}

/** Request headers as a request head holds them (lower-case names; a repeated header as an array). */
export type HeaderRecord = Readonly<Record<string, string | string[] | number | undefined>>;

// Each event is one gRPC message: the base, then TapEvent.http (3) holding request_init (1), response_init (2)
// or response_end (3), each of which begins with its StreamId.
function beginEvent(w: ProtoWriter, base: TapEventBase, kind: number, tapBase: number, stream: number): void {
  w.beginFrame();
  w.raw(base);
  w.begin(3);
  w.begin(kind);
  w.begin(1);
  w.uintField(1, tapBase);
  w.uintField(2, stream);
  w.end();
}

function endEvent(w: ProtoWriter): void {
  w.end();
  w.end();
  w.endFrame();
}

/** A google.protobuf.Duration field of a non-negative number of milliseconds, to the nanosecond. */
function durationField(w: ProtoWriter, field: number, ms: number): void {
  const totalNanos = ms > 0 ? Math.round(ms * 1_000_000) : 0;
  const seconds = Math.floor(totalNanos / 1_000_000_000);
  w.begin(field);
  w.uintField(1, seconds);
  w.uintField(2, totalNanos - seconds * 1_000_000_000);
  w.end();
}

function headersField(w: ProtoWriter, field: number, h: HeaderRecord): void {
  w.begin(field);
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      for (const one of v) headerField(w, name, one);
    } else headerField(w, name, String(v));
  }
  w.end();
}

function headerField(w: ProtoWriter, name: string, value: string): void {
  w.begin(1);
  w.stringField(1, name);
  w.stringField(2, value);
  w.end();
}

/** A registered method or scheme (its enum value, even 0) or the name itself. */
function nameField(w: ProtoWriter, field: number, registered: number, name: string): void {
  w.begin(field);
  if (registered >= 0) w.uintFieldAlways(1, registered);
  else w.stringField(2, name);
  w.end();
}

/** Writes a request init event as one gRPC message; `headers` when the tap extracts them. */
export function writeRequestInit(w: ProtoWriter, base: TapEventBase, tapBase: number, stream: number, s: TapSubject, headers?: HeaderRecord): void {
  beginEvent(w, base, 1, tapBase, stream);
  nameField(w, 2, registeredMethod(s.method), s.method);
  nameField(w, 3, s.scheme === 'http' ? 0 : s.scheme === 'https' ? 1 : -1, s.scheme);
  w.stringField(4, s.authority);
  w.stringField(5, s.path);
  if (headers !== undefined) headersField(w, 6, headers);
  endEvent(w);
}

export function writeResponseInit(w: ProtoWriter, base: TapEventBase, tapBase: number, stream: number, sinceRequestMs: number, status: number): void {
  beginEvent(w, base, 2, tapBase, stream);
  durationField(w, 2, sinceRequestMs);
  w.uintField(3, status);
  endEvent(w);
}

/** How a response stream ended: its grpc-status, or the HTTP/2 reset code, or neither (a plain end). */
export interface TapEos {
  readonly grpcStatus?: number;
  readonly resetCode?: number;
}

export interface TapEndTimes {
  readonly sinceRequestMs: number;
  readonly sinceResponseMs: number;
  readonly bytes: number;
}

export function writeResponseEnd(w: ProtoWriter, base: TapEventBase, tapBase: number, stream: number, t: TapEndTimes, eos: TapEos): void {
  beginEvent(w, base, 3, tapBase, stream);
  durationField(w, 2, t.sinceRequestMs);
  durationField(w, 3, t.sinceResponseMs);
  w.uintField(4, t.bytes);
  if (eos.grpcStatus !== undefined || eos.resetCode !== undefined) {
    w.begin(5);
    if (eos.grpcStatus !== undefined) w.uintFieldAlways(1, eos.grpcStatus);
    else w.uintFieldAlways(2, eos.resetCode as number);
    w.end();
  }
  endEvent(w);
}
