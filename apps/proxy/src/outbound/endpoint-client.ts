// The endpoint client: the one way a meshed outbound request, or opaque stream, reaches an endpoint the balancer
// picked, whatever route chose it. It dials with the connect timeout, speaks mTLS to the endpoint's identity (plain
// TCP when discovery gave none, or for our own pod's IPs), keeps an HTTP/1 keep-alive agent and an HTTP/2 session
// per endpoint (beside the pooled HTTP/2 connection of endpoints with the h2 hint), and sends one attempt through
// `send`: HTTP/1 requests ride an h2-hinted endpoint's connection upgraded with l5d-orig-proto (or, with
// TRELLIS_PROXY_MESH_HTTP1, go as HTTP/1 over a pool of mTLS connections to it: mesh-h1.ts), else go as the
// client spoke them. It knows nothing of routes, retries or timeouts: those are stages around `send`.
import type { ClientRequestArgs, IncomingMessage, OutgoingHttpHeaders as H1Headers } from 'node:http';
import { Agent, request as h1Request } from '../http/node-http.ts';
import { connect as h2connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { openOpaque, type MeshEndpoint } from '../discovery/outbound.ts';
import type { Endpoint } from '../discovery/endpoints.ts';
import { ConnectTimeoutError } from '../errors.ts';
import type { Headers, PickedEndpoint } from '../http/exchange.ts';
import type { EndpointMetrics } from '../metrics/proxy-metrics.ts';
import { asPriorKnowledgeH2 } from '../tls/h2-prior-knowledge.ts';
import { grpcOf, REQUEST_DROP, RESPONSE_DROP, type Body, type OutRequest, type SendListener, type Sent } from './send-interface.ts';
import type { MeshTls, PeerTarget } from '../tls/mesh-tls.ts';
import type { OutboundEndpointMetrics } from './endpoint-metrics.ts';
import { MeshH1Pool, type MeshH1Options } from './mesh-h1.ts';

const { NGHTTP2_CANCEL, HTTP2_FLAG_END_STREAM } = constants as unknown as Record<string, number>;
const END_STREAM = HTTP2_FLAG_END_STREAM ?? 0x1;

export { grpcOf, type Body, type OutRequest, type SendListener, type Sent, type UpResponse } from './send-interface.ts';

/** One request's endpoint: report the first response byte and the end exactly once. */
export interface MeshPick {
  readonly me: MeshEndpoint;
  firstByte(): void;
  done(success: boolean): void;
}

/** The request an endpoint is picked for (http/exchange.ts Exchange): counted in the endpoint's series. */
export interface PickObserver {
  atEndpoint(m: EndpointMetrics, endpoint?: PickedEndpoint): void;
}

function cleanResponse(h: IncomingHttpHeaders): Headers {
  const out: Headers = {};
  for (const name in h) {
    const value = h[name];
    if (value === undefined || name.charCodeAt(0) === 0x3a || RESPONSE_DROP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * What `from.pipe(to)` does here (data with back-pressure, then the end when `end`), without pipe's half-dozen
 * listeners added and removed on each side per request; errors and closes are handled by the caller. `onChunk`
 * hears each chunk before it is written: one 'data' listener, where a second would have Node copy the listener
 * list on every chunk. 'end' comes once: `on` spares `once`'s wrapper.
 */
export function relayBody(from: Readable, to: Writable, end: boolean, onChunk?: () => void): void {
  from.on('data', (chunk: Buffer) => {
    onChunk?.();
    if (to.write(chunk)) return;
    from.pause();
    to.once('drain', () => from.resume());
  });
  if (end) from.on('end', () => to.end());
  // A body paused before (a retry buffer's cap reached, a gRPC status peeked) flows again, as pipe() would.
  from.resume();
}

function writeBody(up: Writable, body: Body): void {
  if (body.kind === 'none') return void up.end();
  if (body.kind === 'buffer') return void up.end(body.data);
  if (body.prefix.length > 0) up.write(body.prefix);
  if (body.rest) relayBody(body.rest, up, true);
  else up.end();
}

/** l5d-orig-proto's values, made once rather than per request. */
const ORIG_PROTO: Record<string, string> = { '1.0': 'HTTP/1.0', '1.1': 'HTTP/1.1' };

/**
 * An attempt's HTTP/2 request headers. Node's flat [name, value, ...] list where it can: node:http2 copies a
 * headers object into a null-prototype one before encoding it (and keeps it on the stream); a list it encodes as
 * it is. A request without an authority but with a Host header keeps the object, whose Host Node reads as the
 * authority (a list would get the session's). A repeated header goes as one entry per value, as Node sends an
 * array's values.
 */
function h2RequestHeaders(r: OutRequest, headers: Headers): string[] | OutgoingHttpHeaders {
  const h: string[] = [':method', r.method, ':scheme', r.scheme, ':path', r.path];
  if (r.authority !== undefined) h.push(':authority', r.authority);
  for (const name in headers) {
    const value = headers[name] as string | string[];
    if (name === REQUEST_DROP || (name === 'te' && String(value).trim().toLowerCase() !== 'trailers') || (r.h1 && name === 'l5d-orig-proto')) continue;
    if (typeof value === 'string') h.push(name, value);
    else for (const v of value) h.push(name, v);
  }
  if (r.h1) h.push('l5d-orig-proto', (r.h1.absolute ? undefined : ORIG_PROTO[r.h1.version]) ?? `HTTP/${r.h1.version}${r.h1.absolute ? '; absolute-form' : ''}`);
  if (r.authority !== undefined || headers['host'] === undefined) return h;
  const o: OutgoingHttpHeaders = {};
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    const prev = o[name];
    o[name] = prev === undefined ? (h[i + 1] as string) : [...(Array.isArray(prev) ? prev : [String(prev)]), h[i + 1] as string];
  }
  return o;
}

function peerOf(e: Endpoint, identity: string): PeerTarget {
  return { addr: e.addr, host: e.ip, port: e.port, serverId: identity, ...(e.serverName ? { serverName: e.serverName } : {}) };
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}

export class EndpointClient {
  readonly #connectTimeoutMs: number;
  readonly #tls: MeshTls;
  readonly #isLocal: (ip: string) => boolean;
  readonly #agents = new Map<string, Agent>();
  readonly #sessions = new Map<string, ClientHttp2Session>();
  readonly #metrics: OutboundEndpointMetrics | undefined;
  readonly #meshH1Options: MeshH1Options | undefined;
  #meshH1: MeshH1Pool | undefined;

  /** `meshHttp1`: HTTP/1 requests to h2-hinted endpoints go as HTTP/1 over pooled mTLS connections (mesh-h1.ts). */
  constructor(tls: MeshTls, isLocal: (ip: string) => boolean, metrics?: OutboundEndpointMetrics, connectTimeoutMs = 1_000, meshHttp1?: MeshH1Options) {
    this.#tls = tls;
    this.#isLocal = isLocal;
    this.#metrics = metrics;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#meshH1Options = meshHttp1;
  }

  /** The request reached `me`: it is counted in that endpoint's series. */
  observe(request: PickObserver | undefined, me: MeshEndpoint): void {
    if (request && this.#metrics) request.atEndpoint(this.#metrics.http(me.endpoint), me.endpoint);
  }

  /**
   * Sends one attempt of `r` with `headers` (lower-case, no hop-by-hop) and `body` to `me`; the listener hears
   * its response head or its error. Nothing waits on a promise when the endpoint's HTTP/2 connection is up.
   */
  send(me: MeshEndpoint, r: OutRequest, headers: Headers, body: Body, l: SendListener): Sent {
    if (r.h1 && !me.h2) return this.#sendH1(me, r, headers, body, l);
    if (r.h1 && this.#meshH1Options) {
      const sent = this.#meshH1Pool(this.#meshH1Options).send(me.endpoint, r, headers, body, l);
      if (sent) return sent;
    }
    const session = r.h1 && me.h2 ? (me.h2.live() ?? me.h2.session()) : this.#h2Session(me);
    if (!(session instanceof Promise)) return this.#sendH2(session, me, r, headers, body, l);
    let sent: Sent | undefined;
    let cancelled = false;
    session.then(
      (s) => {
        if (!cancelled) sent = this.#sendH2(s, me, r, headers, body, l);
      },
      (err: Error) => {
        if (!cancelled) l.error(err);
      },
    );
    return {
      cancel: () => {
        cancelled = true;
        sent?.cancel();
      },
    };
  }

  /** The pool of HTTP/1 connections to h2-hinted endpoints, made on first use. */
  #meshH1Pool(o: MeshH1Options): MeshH1Pool {
    this.#meshH1 ??= new MeshH1Pool(o, (e) => {
      const id = this.#identity(e);
      return id ? this.#tlsSocket(e, id) : this.#dial(e);
    });
    return this.#meshH1;
  }

  /** Idle HTTP/1 connections to an h2-hinted endpoint (tests). */
  meshH1IdleCount(e: Endpoint): number {
    return this.#meshH1?.idleCount(e) ?? 0;
  }

  /** HTTP/1 as the client spoke it, over the endpoint's keep-alive agent. */
  #sendH1(me: MeshEndpoint, r: OutRequest, headers: Headers, body: Body, l: SendListener): Sent {
    const e = me.endpoint;
    const h: H1Headers = {};
    for (const name in headers) if (name !== REQUEST_DROP) h[name] = headers[name];
    if (r.authority !== undefined) h['host'] = r.authority;
    const up = h1Request({ host: e.ip, port: e.port, method: r.method, path: r.target, headers: h, setHost: false, agent: this.agent(me) });
    up.on('error', (err) => l.error(err));
    up.once('finish', () => l.requestEnd());
    up.once('response', (res: IncomingMessage) => {
      up.removeAllListeners('error');
      up.on('error', noop);
      res.on('error', noop);
      l.response({
        status: res.statusCode ?? 0,
        grpcStatus: grpcOf(res.headers),
        headers: cleanResponse(res.headers),
        body: res,
        ended: false,
        trailers: () => (Object.keys(res.trailers).length > 0 ? res.trailers : undefined),
        resetCode: () => undefined,
        cancel: () => up.destroy(),
      });
    });
    writeBody(up, body);
    return { cancel: () => up.destroy() };
  }

  /** HTTP/2: the client's own, or its HTTP/1 request upgraded with l5d-orig-proto. */
  #sendH2(session: ClientHttp2Session, me: MeshEndpoint, r: OutRequest, headers: Headers, body: Body, l: SendListener): Sent {
    let up: ClientHttp2Stream;
    try {
      up = session.request(h2RequestHeaders(r, headers), { endStream: body.kind === 'none' });
    } catch (err) {
      l.error(err as Error);
      return { cancel: noop };
    }
    const cancel = () => {
      if (!up.closed) up.close(NGHTTP2_CANCEL);
    };
    up.on('error', noop);
    let trailers: IncomingHttpHeaders | undefined;
    up.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
    // The listeners go once the head is in: an Error built on every stream's close costs real CPU.
    const onClose = () => failed(Object.assign(new Error(`stream reset by ${me.endpoint.addr}`), { code: 'ERR_HTTP2_STREAM_ERROR', rstCode: up.rstCode }));
    // Plain listeners that take each other off (once's wrappers cost a closure and an object each per request).
    const failed = (err: Error) => {
      up.removeListener('error', failed);
      up.removeListener('close', onClose);
      up.removeListener('response', answered);
      // The reset code tells a refused stream (retryable) from others.
      l.error(Object.assign(err, { rstCode: up.rstCode }));
    };
    const answered = (rh: IncomingHttpHeaders, flags: number) => {
      up.removeListener('error', failed);
      up.removeListener('close', onClose);
      up.removeListener('response', answered);
      l.response({
        status: Number(rh[':status']),
        grpcStatus: grpcOf(rh),
        headers: cleanResponse(rh),
        body: up,
        ended: (flags & END_STREAM) !== 0,
        trailers: () => trailers,
        resetCode: () => (up.rstCode !== undefined && up.rstCode !== 0 ? up.rstCode : undefined),
        cancel,
      });
    };
    up.on('error', failed);
    up.on('close', onClose);
    up.on('response', answered);
    if (body.kind === 'none') l.requestEnd();
    else {
      up.on('finish', () => l.requestEnd());
      writeBody(up, body);
    }
    return { cancel };
  }

  /** A TCP connection to `e`, counted in its tcp_* series (peer="dst"), under the outbound connect timeout. */
  #dial(e: Endpoint): Socket {
    const s = netConnect({ host: e.ip, port: e.port, noDelay: true });
    this.#metrics?.track(e, s);
    const ms = this.#connectTimeoutMs;
    if (ms > 0) {
      const timer = setTimeout(() => s.destroy(new ConnectTimeoutError(e.addr, ms)), ms);
      const clear = () => clearTimeout(timer);
      s.once('connect', clear);
      s.once('close', clear);
    }
    return s;
  }

  /** mTLS to `e` as `id` over a counted TCP connection. */
  #tlsSocket(e: Endpoint, id: string): TLSSocket {
    const raw = this.#dial(e);
    try {
      return this.#tls.socket(peerOf(e, id), raw);
    } catch (err) {
      raw.destroy();
      throw err;
    }
  }

  /** The identity to verify on connections to `e` (none for our own pod's IPs, as Linkerd's is_local). */
  #identity(e: Endpoint): string | undefined {
    return e.identity && !this.#isLocal(e.ip) ? e.identity : undefined;
  }

  /** A keep-alive HTTP/1 agent for an endpoint without the h2 hint (and for HTTP/1 tunnels). */
  agent(me: MeshEndpoint): Agent {
    const e = me.endpoint;
    let a = this.#agents.get(e.addr);
    if (!a) {
      a = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 60_000 });
      const id = this.#identity(e);
      // Node's typings declare createConnection as a property; assigning it is what Node calls.
      a.createConnection = ((_o: ClientRequestArgs) => (id ? this.#tlsSocket(e, id) : this.#dial(e))) as Agent['createConnection'];
      this.#agents.set(e.addr, a);
    }
    return a;
  }

  /** The HTTP/2 session for native HTTP/2 requests: the endpoint's pooled one, else one kept here. */
  #h2Session(me: MeshEndpoint): ClientHttp2Session | Promise<ClientHttp2Session> {
    if (me.h2) return me.h2.live() ?? me.h2.session();
    const e = me.endpoint;
    const existing = this.#sessions.get(e.addr);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const id = this.#identity(e);
    const session = h2connect(`http://${e.addr}`, {
      createConnection: () => (id ? asPriorKnowledgeH2(this.#tlsSocket(e, id)) : this.#dial(e)) as Duplex,
    });
    const forget = () => {
      if (this.#sessions.get(e.addr) === session) this.#sessions.delete(e.addr);
    };
    session.on('error', forget);
    session.once('close', forget);
    session.once('goaway', forget);
    this.#sessions.set(e.addr, session);
    return session;
  }

  /** A TCP stream for opaque traffic to a picked endpoint (opaque transport, mTLS or plain). */
  opaqueStream(me: MeshEndpoint): Promise<Duplex> {
    const e = me.endpoint;
    const em = this.#metrics;
    const track = em ? (s: Socket) => em.track(e, s) : undefined;
    if (this.#isLocal(e.ip)) return openOpaque({ ...e, identity: undefined }, this.#tls, undefined, track);
    return openOpaque(e, this.#tls, undefined, track);
  }

  /** Closes the connections kept here (the endpoints' pooled HTTP/2 connections belong to their balancers). */
  close(): void {
    this.#meshH1?.close();
    this.#meshH1 = undefined;
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
  }
}
