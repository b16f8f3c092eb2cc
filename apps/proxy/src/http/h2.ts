// HTTP/2 (prior knowledge) and gRPC: a node:http2 server fed with detected connections, forwarding each stream
// over one multiplexed connection per endpoint. Trailers pass through (gRPC status lives there); resets are
// relayed with their code.
import {
  connect,
  constants,
  createServer,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { IncomingMessage, OutgoingHttpHeaders as H1Headers } from 'node:http';
import { request as h1Request } from './node-http.ts';
import { asProxyError, type ProxyError } from '../errors.ts';
import { h2Downstream } from './downstream.ts';
import { connectTo } from '../tcp/connect.ts';
import type { TargetEntry } from '../tcp/targets.ts';
import { applyClientId, L5D_CLIENT_ID } from '../tls/client-id.ts';
import { downgradeHost, downgradeTarget, L5D_ORIG_PROTO, parseOrigProto, type Downgrade } from '../tls/orig-proto.ts';
import { countWrites, Exchange, type Downstream, type ExchangeWatcher, type HttpContext, type HttpHandler, type RequestHead } from './exchange.ts';
import { routerOf, targetOf } from './connection.ts';
import { httpParser } from '../node-internals.ts';
import { requestHead, type Framing, type H1Call } from './h1-lean-client.ts';
import type { PoolRequestArgs, Pools } from './pool.ts';
import { h2Head } from './request-head.ts';
import { isGrpcContentType, synthesize } from './respond.ts';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, HTTP2_FLAG_END_STREAM } = constants as unknown as Record<string, number> & {
  NGHTTP2_CANCEL: number;
  NGHTTP2_NO_ERROR: number;
  HTTP2_FLAG_END_STREAM: number;
};
const END_STREAM = HTTP2_FLAG_END_STREAM ?? 0x1;

export interface H2Options {
  readonly ctx: HttpContext;
  readonly handler: HttpHandler;
  /** HTTP/1 pools for requests a meshed client proxy upgraded (l5d-orig-proto), sent on as HTTP/1. */
  readonly pools?: Pools;
  readonly initialStreamWindowSize: number;
  readonly initialConnectionWindowSize: number;
  /** Server-side keepalive PINGs (0: off). */
  readonly keepAliveIntervalMs?: number;
  readonly keepAliveTimeoutMs?: number;
}

/** PINGs an idle-or-not session every interval; a PING unanswered within the timeout closes it. */
export function keepAlive(session: Http2Session, intervalMs: number, timeoutMs: number): void {
  if (intervalMs <= 0) return;
  const timer = setInterval(() => {
    if (session.closed || session.destroyed) return;
    const deadline = timeoutMs > 0 ? setTimeout(() => session.destroy(new Error('HTTP/2 keepalive timed out')), timeoutMs) : undefined;
    deadline?.unref();
    const sent = session.ping((err) => {
      clearTimeout(deadline);
      if (err && !session.destroyed) session.destroy(err);
    });
    if (!sent) clearTimeout(deadline);
  }, intervalMs);
  timer.unref();
  session.once('close', () => clearInterval(timer));
}

/** One client session per endpoint, replaced when it closes or receives GOAWAY. */
export class H2Sessions {
  private readonly sessions = new Map<TargetEntry, ClientHttp2Session>();
  private readonly o: H2Options;
  constructor(o: H2Options) {
    this.o = o;
  }

  get(entry: TargetEntry): ClientHttp2Session {
    const existing = this.sessions.get(entry);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = connect(`http://${entry.target.addr}`, {
      createConnection: () => connectTo(entry, this.o.ctx.connectTimeoutMs),
      settings: { initialWindowSize: this.o.initialStreamWindowSize },
    });
    session.once('connect', () => session.setLocalWindowSize(this.o.initialConnectionWindowSize));
    const forget = () => {
      if (this.sessions.get(entry) === session) this.sessions.delete(entry);
    };
    // Errors surface on the streams (as the cause of their cancellation); the session just goes away.
    session.on('error', forget);
    session.once('close', forget);
    session.once('goaway', forget);
    this.sessions.set(entry, session);
    return session;
  }

  closeAll(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }
}

const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings'];

/** HTTP/1 response headers that have no place in an HTTP/2 response. */
const H1_RESPONSE_DROP = new Set([...CONNECTION_SPECIFIC, 'l5d-proxy-connection']);
const REMOTE_PROXY_HEADERS = ['l5d-proxy-error', 'l5d-proxy-connection'];

class H2Exchange extends Exchange {
  private trailers: OutgoingHttpHeaders | undefined;
  private readonly pools: Pools | undefined;
  private readonly sessions: H2Sessions;
  private readonly stream: ServerHttp2Stream;
  private readonly headers: IncomingHttpHeaders;
  private readonly flags: number;

  constructor(entry: TargetEntry, socket: unknown, ctx: HttpContext, sessions: H2Sessions, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, pools?: Pools) {
    super(entry, isGrpcContentType(headers['content-type']), ctx, routerOf(socket));
    this.pools = pools;
    this.sessions = sessions;
    this.stream = stream;
    this.headers = headers;
    this.flags = flags;
  }

  requestHead(): RequestHead {
    return h2Head(this.headers, this.stream.session?.socket);
  }

  override header(name: string): string | string[] | undefined {
    return this.headers[name];
  }

  protected override watchBody(w: ExchangeWatcher): void {
    countWrites(this.stream, w);
  }

  downstream(): Downstream {
    return h2Downstream(this, this.stream, this.headers, this.flags);
  }

  /** To the original destination: over the pooled session, or as HTTP/1 when a meshed client proxy upgraded it. */
  forward(): void {
    if (this.ctx.clientIdHeader) {
      const d = this.pools ? parseOrigProto(this.headers[L5D_ORIG_PROTO]) : undefined;
      if (d) return this.forwardDowngraded(d, this.pools as Pools);
    }
    this.forwardOn(() => this.sessions.get(this.entry), this.entry.target.addr);
  }

  private forwardOn(session: () => ClientHttp2Session, addr: string): void {
    const stream = this.stream;
    if (stream.closed || stream.destroyed) {
      // The client gave up while the endpoint was being picked.
      this.errorLabel = 'i/o';
      this.finish();
      return;
    }
    const out: OutgoingHttpHeaders = { ...this.headers };
    for (const h of CONNECTION_SPECIFIC) delete out[h];
    if (this.ctx.clientIdHeader) applyClientId(out as Record<string, string | string[] | undefined>, this.entry.clientId);
    const endStream = (this.flags & END_STREAM) !== 0;
    let up: ClientHttp2Stream;
    try {
      up = session().request(out, { endStream });
    } catch (err) {
      this.fail(asProxyError(err, addr));
      return;
    }
    if (!endStream) stream.pipe(up);
    up.on('response', (h, flags: number) => {
      this.status = Number(h[':status']);
      const g = h['grpc-status'];
      if (typeof g === 'string') this.grpcStatus = Number(g);
      // A remote proxy's error text is for proxies, not for the app (docs/reference/linkerd-proxy.md §4 "Headers").
      if (this.entry.target.direction === 'outbound') for (const name of REMOTE_PROXY_HEADERS) delete h[name];
      if ((flags & END_STREAM) !== 0) {
        stream.respond(h, { endStream: true });
        return;
      }
      stream.respond(h, { waitForTrailers: true });
      up.once('data', () => this.firstByte());
      up.pipe(stream);
    });
    up.on('trailers', (t) => {
      this.trailers = t;
      const g = t['grpc-status'];
      if (typeof g === 'string') this.grpcStatus = Number(g);
    });
    stream.on('wantTrailers', () => stream.sendTrailers(this.trailers ?? {}));
    up.on('error', (err) => {
      if (this.finished) return;
      if (!stream.headersSent) this.fail(asProxyError(err, this.entry.target.addr));
    });
    up.on('close', () => {
      if (up.rstCode !== undefined && up.rstCode !== NGHTTP2_NO_ERROR && !stream.closed) {
        if (!stream.headersSent && !this.finished) {
          this.fail(asProxyError(Object.assign(new Error(`stream reset by ${this.entry.target.addr}`), { code: 'ERR_HTTP2_STREAM_ERROR' }), this.entry.target.addr));
          return;
        }
        this.errorLabel = `h2(${resetName(up.rstCode)})`;
        stream.close(up.rstCode);
      }
      if (!stream.headersSent) return;
      this.finish();
    });
    stream.on('close', () => {
      if (!up.closed) up.close(stream.rstCode || NGHTTP2_CANCEL);
      if (!this.finished && stream.rstCode !== NGHTTP2_NO_ERROR) this.errorLabel = `h2(${resetName(stream.rstCode)})`;
      this.finish();
    });
    stream.on('error', noop);
  }

  /**
   * A request a meshed client proxy upgraded from HTTP/1 (docs/reference/linkerd-proxy.md §4 "orig-proto"): sent to the app as
   * HTTP/1.1 through the pool, its response returned over HTTP/2 with l5d-orig-proto echoed so the client
   * proxy restores the version.
   */
  private forwardDowngraded(d: Downgrade, pools: Pools): void {
    const stream = this.stream;
    const h = this.headers;
    const host = downgradeHost(h);
    if (host !== undefined && httpParser) {
      const framing = downgradeFraming(h, (this.flags & END_STREAM) !== 0);
      if (framing !== undefined) return this.forwardDowngradedLean(d, pools, framing, host);
    }
    const headers: H1Headers = {};
    for (const [name, value] of Object.entries(h)) {
      if (value === undefined || name.startsWith(':') || name === L5D_ORIG_PROTO || name === 'host') continue;
      headers[name] = value;
    }
    if (host !== undefined) headers['host'] = host;
    applyClientId(headers as Record<string, string | string[] | undefined>, this.entry.clientId);
    const t = this.entry.target;
    const args: PoolRequestArgs = {
      host: t.ip,
      port: t.port,
      method: h[':method'] ?? 'GET',
      path: downgradeTarget(d, h),
      headers,
      setHost: false,
      agent: host !== undefined ? pools.keepAlive : pools.oneShot,
      trellisTarget: this.entry,
    };
    const up = h1Request(args);
    up.on('error', (err) => {
      if (this.finished) return;
      if (!stream.headersSent) this.fail(asProxyError(err, t.addr));
      else {
        this.errorLabel = 'i/o';
        if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        this.finish();
      }
    });
    up.on('response', (ur: IncomingMessage) => {
      this.status = ur.statusCode ?? 0;
      const g = ur.headers['grpc-status'];
      if (typeof g === 'string') this.grpcStatus = Number(g);
      const out: OutgoingHttpHeaders = { ':status': this.status };
      for (const [name, value] of Object.entries(ur.headers)) if (value !== undefined && !H1_RESPONSE_DROP.has(name)) out[name] = value;
      out[L5D_ORIG_PROTO] = h[L5D_ORIG_PROTO];
      if (stream.closed) {
        ur.destroy();
        return;
      }
      stream.respond(out);
      ur.on('error', noop);
      ur.once('data', () => this.firstByte());
      ur.pipe(stream);
      ur.on('end', () => this.finish());
      ur.on('close', () => {
        if (ur.complete || this.finished) return;
        this.errorLabel = 'i/o';
        if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        this.finish();
      });
    });
    stream.on('close', () => {
      if (this.finished) return;
      up.destroy();
      this.errorLabel = 'i/o';
      this.finish();
    });
    stream.on('error', noop);
    if ((this.flags & END_STREAM) !== 0) up.end();
    else stream.pipe(up);
  }

  /**
   * forwardDowngraded through the lean HTTP/1 client (http/h1-lean-client.ts): the same request and response, without
   * ClientRequest and the Agent.
   */
  private forwardDowngradedLean(d: Downgrade, pools: Pools, framing: LeanDowngrade, host: string): void {
    const stream = this.stream;
    const h = this.headers;
    const raw: string[] = ['host', host];
    for (const name in h) {
      const value = h[name];
      // l5d-client-id as applyClientIdRaw sets it (names here are lower-case), without copying the list.
      if (value === undefined || name.charCodeAt(0) === 0x3a || name === L5D_ORIG_PROTO || name === 'host' || name === L5D_CLIENT_ID) continue;
      if (typeof value === 'string') raw.push(name, value);
      else for (const v of value) raw.push(name, v);
    }
    if (framing === 'empty') raw.push('content-length', '0');
    else if (framing === 'chunked') raw.push('transfer-encoding', 'chunked');
    const clientId = this.entry.clientId;
    if (clientId) raw.push(L5D_CLIENT_ID, clientId);
    const t = this.entry.target;
    const method = h[':method'] ?? 'GET';
    const wire: Framing = framing === 'empty' ? 'none' : framing;
    const call: H1Call = pools.lean.request(this.entry, requestHead(method, downgradeTarget(d, h), raw), wire, method === 'HEAD', {
      head: (status, _message, rawHeaders) => {
        this.status = status;
        const out = h1ResponseHeaderList(status, rawHeaders, h[L5D_ORIG_PROTO]);
        const g = headerIn(out, 'grpc-status');
        if (typeof g === 'string') this.grpcStatus = Number(g);
        if (stream.closed) {
          call.abort();
          return;
        }
        stream.respond(out);
      },
      body: (chunk) => {
        this.firstByte();
        if (stream.write(chunk)) return true;
        stream.once('drain', () => call.resume());
        return false;
      },
      end: () => {
        if (!stream.closed) stream.end();
        this.finish();
      },
      error: (err, responded) => {
        if (this.finished) return;
        if (!responded || !stream.headersSent) return this.fail(asProxyError(err, t.addr));
        this.errorLabel = 'i/o';
        if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        this.finish();
      },
    });
    let sent = wire === 'none';
    stream.on('close', () => {
      // A request body cut short, even after the response: the upstream connection is in an unknown state.
      if (!sent) call.abort();
      if (this.finished) return;
      call.abort();
      this.errorLabel = 'i/o';
      this.finish();
    });
    stream.on('error', noop);
    if (sent) {
      call.end();
      return;
    }
    stream.on('data', (chunk: Buffer) => {
      if (call.write(chunk)) return;
      stream.pause();
      call.onDrain(() => stream.resume());
    });
    stream.on('end', () => {
      sent = true;
      call.end();
    });
  }

  protected respondError(err: ProxyError): void {
    const stream = this.stream;
    if (stream.headersSent || stream.closed) {
      if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const s = synthesize(err, this.grpc, this.ctx.respond, this.entry.clientId !== undefined);
    this.status = s.status;
    if (this.grpc) this.grpcStatus = err.grpcStatus;
    stream.respond({ ':status': s.status, ...s.headers }, { endStream: true });
  }
}

/** A downgraded request's framing on HTTP/1: as received, or what node:http would have chosen. */
type LeanDowngrade = Framing | 'empty';

/** Methods node:http sends without a body (and without framing headers) when the request has none. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * How the lean client frames a downgraded request, as node:http's ClientRequest would: Content-Length as
 * received; a stream that ended with its headers is sent without a body (Content-Length: 0 for methods that
 * have one); a streamed body without a length is chunked. Undefined: a body on a body-less method (node:http).
 */
function downgradeFraming(h: IncomingHttpHeaders, endStream: boolean): LeanDowngrade | undefined {
  const bodyless = BODYLESS_METHODS.has(h[':method'] ?? 'GET');
  if (h['content-length'] !== undefined) return endStream || h['content-length'] === '0' ? 'none' : 'length';
  if (endStream) return bodyless ? 'none' : 'empty';
  return bodyless ? undefined : 'chunked';
}

/** node:http keeps the first of these when a response repeats them (IncomingMessage.headers). */
const SINGLE_VALUED = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

/**
 * An HTTP/1 response head as HTTP/2 response headers with l5d-orig-proto echoed (`origProto`): Node's flat
 * [name, value, ...] list, which node:http2 encodes without copying it into an object first; when a name repeats,
 * the headers object merged as IncomingMessage.headers merges them.
 */
function h1ResponseHeaderList(status: number, raw: readonly string[], origProto: string | string[] | undefined): string[] | OutgoingHttpHeaders {
  const out: string[] = [':status', String(status)];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (H1_RESPONSE_DROP.has(name) || name === L5D_ORIG_PROTO) continue;
    for (let j = 2; j < out.length; j += 2) {
      if (out[j] !== name) continue;
      const merged = h1ResponseHeaders(status, raw);
      merged[L5D_ORIG_PROTO] = origProto;
      return merged;
    }
    out.push(name, raw[i + 1] as string);
  }
  if (typeof origProto === 'string') out.push(L5D_ORIG_PROTO, origProto);
  else if (origProto !== undefined) for (const v of origProto) out.push(L5D_ORIG_PROTO, v);
  return out;
}

/** A header of a list or object from h1ResponseHeaderList. */
function headerIn(h: string[] | OutgoingHttpHeaders, name: string): string | number | string[] | undefined {
  if (!Array.isArray(h)) return h[name];
  for (let i = 2; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
  return undefined;
}

/** An HTTP/1 response head as HTTP/2 response headers, merged as IncomingMessage.headers merges them. */
function h1ResponseHeaders(status: number, raw: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':status': status };
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (H1_RESPONSE_DROP.has(name)) continue;
    const value = raw[i + 1] as string;
    const prev = out[name];
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else if (!SINGLE_VALUED.has(name)) out[name] = `${String(prev)}, ${value}`;
  }
  return out;
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}

const RESET_NAMES: Record<number, string> = {
  0x1: 'PROTOCOL_ERROR',
  0x2: 'INTERNAL_ERROR',
  0x3: 'FLOW_CONTROL_ERROR',
  0x5: 'STREAM_CLOSED',
  0x7: 'REFUSED_STREAM',
  0x8: 'CANCEL',
  0xb: 'ENHANCE_YOUR_CALM',
};

function resetName(code: number): string {
  return RESET_NAMES[code] ?? `UNKNOWN(${code})`;
}

export interface H2Server {
  readonly server: Http2Server;
  readonly sessions: H2Sessions;
  /** GOAWAY to every client session; open streams complete. */
  drain(): void;
}

export function createH2Server(o: H2Options): H2Server {
  const sessions = new H2Sessions(o);
  const live = new Set<Http2Session>();
  const server = createServer({ settings: { initialWindowSize: o.initialStreamWindowSize } });
  server.on('session', (session: Http2Session) => {
    live.add(session);
    session.once('close', () => live.delete(session));
    session.on('error', noop);
    session.once('localSettings', () => session.setLocalWindowSize(o.initialConnectionWindowSize));
    keepAlive(session, o.keepAliveIntervalMs ?? 0, o.keepAliveTimeoutMs ?? 0);
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
    const socket = stream.session?.socket;
    const entry = targetOf(socket);
    if (!entry) {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    o.handler(new H2Exchange(entry, socket, o.ctx, sessions, stream, headers, flags, o.pools));
  });
  return {
    server,
    sessions,
    drain: () => {
      for (const s of live) s.close();
      sessions.closeAll();
    },
  };
}
