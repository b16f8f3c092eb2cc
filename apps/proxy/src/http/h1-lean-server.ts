// A lean HTTP/1.1 server path for the common request: keep-alive HTTP/1.1 with a Host, a body framed by
// Content-Length, chunked or none, no Expect, no Upgrade or CONNECT, to a target without a mesh upstream. It
// parses with Node's own parser (llhttp, one per connection, as node:http does) and writes response heads and
// bodies itself, without node:http's IncomingMessage and ServerResponse per request, which cost about a third of
// a plaintext proxy's CPU. A meshed target's requests go to its router with a Downstream over the same parser and
// writer (h1-lean-downstream.ts). Anything else is handed to the node:http server (h1.ts) at that request's boundary:
// the head is written back in front of the unread bytes and the connection given to node:http's own listener,
// which then serves it to the end (Upgrade, CONNECT, 100-continue, HTTP/1.0, Host-less requests).
import type { Server } from 'node:http';
import { STATUS_CODES } from './node-http.ts';
import type { Socket } from 'node:net';
import type { ProxyError } from '../errors.ts';
import { asProxyError } from '../errors.ts';
import type { TargetEntry } from '../tcp/targets.ts';
import { applyClientIdRaw } from '../tls/client-id.ts';
import { Exchange, type RequestHead } from './exchange.ts';
import type { ConnRouter, HttpContext, HttpHandler } from './exchange.ts';
import { LeanDownstream, RequestBody, type LeanResponder } from './h1-lean-downstream.ts';
import { routerOf, targetOf } from './connection.ts';
import type { Pools } from './pool.ts';
import { requestHead, writeBody, type Framing, type H1Call } from './h1-lean-client.ts';
import { filterHopByHop, rawHeader } from './headers.ts';
import { isGrpcContentType, synthesize } from './respond.ts';
import { httpParser, type HttpParser } from '../node-internals.ts';


/** Headers a client proxy strips from upstream responses (as h1.ts). */
const OUTBOUND_RESPONSE_DROP = new Set(['l5d-proxy-error', 'l5d-proxy-connection']);
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);
/** As node:http's server is configured in h1.ts. */
/** What the HTTP/1 server of a direction is built with (the lean path and node:http alike). */
export interface H1Options {
  readonly ctx: HttpContext;
  readonly pools: Pools;
  readonly handler: HttpHandler;
  readonly headerReadTimeoutMs: number;
  readonly isDraining: () => boolean;
}

export const MAX_HEADER_SIZE = 64 * 1024;
/** llhttp's on_headers_complete result: no body, and stop parsing here (execute returns the bytes consumed). */
const STOP_HERE = 2;

/** One parsed request on a lean connection. */
interface LeanRequest {
  readonly method: string;
  readonly url: string;
  raw: string[];
  readonly framing: Framing;
  readonly keepAlive: boolean;
  /** Body bytes that arrived before the request could start (pipelined behind another). */
  chunks: Buffer[] | undefined;
  complete: boolean;
  ex: LeanExchange | undefined;
}

/** Date header value, recomputed at most once a second (as node:http caches it). */
let dateCache = '';
let dateAt = 0;
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000 || dateCache === '') {
    dateAt = now - (now % 1000);
    dateCache = new Date(now).toUTCString();
  }
  return dateCache;
}

function clientErrorHead(status: number): string {
  return `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
}

type BodyMode = 'none' | 'length' | 'chunked' | 'close' | 'auto';

/** The response of the exchange at the head of a connection's queue. */
class LeanConn implements LeanResponder<LeanRequest> {
  readonly socket: Socket;
  readonly entry: TargetEntry;
  /** A meshed target's router, which takes the connection's requests (none: forwarded to the original destination). */
  readonly router: ConnRouter | undefined;
  readonly #server: LeanServer;
  readonly #parser: HttpParser;
  #pendingRaw: string[] = [];
  #pendingUrl = '';
  /** The request being parsed (head complete, body maybe not). */
  #parsing: LeanRequest | undefined;
  /** Requests in order; the first is being answered. */
  readonly #queue: LeanRequest[] = [];
  /** An ineligible head: node:http takes the connection with these bytes once the queue is empty. */
  #handoff: Buffer | undefined;
  #stopped = false;
  #bodyBlocked = false;
  #readEnded = false;
  #closing = false;
  headersStart = 0;
  headersDone = false;
  // The response being written (for the first request in the queue).
  #head: string | undefined;
  #mode: BodyMode = 'none';
  #headSent = false;

  constructor(server: LeanServer, socket: Socket, entry: TargetEntry, router: ConnRouter | undefined) {
    this.#server = server;
    this.socket = socket;
    this.entry = entry;
    this.router = router;
    this.headersStart = Date.now();
    // Only reached when the parser is there (createH1Server installs the lean path only then).
    const { HTTPParser } = httpParser as NonNullable<typeof httpParser>;
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, MAX_HEADER_SIZE, 0);
    p[HTTPParser.kOnMessageBegin] = () => {
      this.headersStart = Date.now();
      this.headersDone = false;
    };
    p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
      for (const h of headers) this.#pendingRaw.push(h);
      this.#pendingUrl += url;
    };
    p[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, _s: unknown, _m: unknown, upgrade: boolean, keepAlive: boolean): number =>
      this.#onHead(major, minor, headers, method, url, upgrade, keepAlive);
    p[HTTPParser.kOnBody] = (chunk: Buffer) => {
      const r = this.#parsing;
      if (!r) return;
      if (r.ex) r.ex.requestBody(chunk);
      else (r.chunks ??= []).push(Buffer.from(chunk));
    };
    p[HTTPParser.kOnMessageComplete] = () => {
      // Request trailers came as headers; they are not forwarded (node:http's pipe did not either).
      if (this.#pendingRaw.length > 0) this.#pendingRaw = [];
      this.#pendingUrl = '';
      const r = this.#parsing;
      if (!r) return;
      this.#parsing = undefined;
      r.complete = true;
      r.ex?.requestEnd();
    };
    this.#parser = p;
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', noop);
    socket.on('close', this.#onClose);
    socket.on('drain', this.#onDrain);
  }

  readonly #onData = (d: Buffer): void => {
    if (this.#stopped) return;
    const r = this.#parser.execute(d);
    if (typeof r !== 'number') return this.#clientError(r.code);
    if (this.#handoff !== undefined) {
      // The parser stopped at an ineligible head: keep the rest for node:http.
      this.#stopped = true;
      this.#handoff = Buffer.concat([this.#handoff, d.subarray(r)]);
      this.socket.pause();
      this.#maybeHandoff();
    }
  };

  readonly #onEnd = (): void => {
    this.#readEnded = true;
    if (this.#stopped) return;
    const r = this.#parser.finish();
    if (r !== undefined && typeof r !== 'number') return this.#clientError(r.code);
    const cur = this.#parsing;
    if (cur) {
      // The client half-closed mid-request: that request cannot complete.
      this.socket.destroy();
      return;
    }
    // Half-closed after its requests: they are still answered, then the connection closes.
    if (this.#queue.length === 0) this.socket.end();
  };

  readonly #onClose = (): void => {
    this.#server.forget(this);
    this.#closeParser();
    this.#stopped = true;
    for (const r of this.#queue) r.ex?.clientGone();
    this.#queue.length = 0;
    // A request answered early whose body was cut short: its upstream connection is in an unknown state.
    const cut = this.#parsing;
    if (cut && !cut.complete) cut.ex?.dropUpstream();
  };

  #parserClosed = false;
  #closeParser(): void {
    if (this.#parserClosed) return;
    this.#parserClosed = true;
    this.#parser.close();
  }

  readonly #onDrain = (): void => {
    this.#queue[0]?.ex?.responseDrained();
  };

  #onHead(major: number, minor: number, headers: string[] | undefined, methodIndex: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    this.headersDone = true;
    let raw = headers ?? [];
    if (this.#pendingRaw.length > 0) {
      raw = headers ? [...this.#pendingRaw, ...headers] : this.#pendingRaw;
      this.#pendingRaw = [];
    }
    const target = this.#pendingUrl + (url ?? '');
    this.#pendingUrl = '';
    const method = (httpParser as NonNullable<typeof httpParser>).methods[methodIndex] ?? 'GET';
    const framing = upgrade || major !== 1 || minor !== 1 ? undefined : leanFraming(method, raw);
    if (framing === undefined) {
      // node:http serves this request and the rest of the connection.
      let head = `${method} ${target} HTTP/${major}.${minor}\r\n`;
      for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
      this.#handoff = Buffer.from(head + '\r\n', 'latin1');
      return STOP_HERE;
    }
    const r: LeanRequest = { method, url: target, raw, framing, keepAlive, chunks: undefined, complete: false, ex: undefined };
    this.#parsing = r;
    this.#queue.push(r);
    if (this.#queue.length === 1) this.#start(r);
    else this.socket.pause(); // pipelined: read on once the requests before it are answered
    // A response to HEAD has no body; a request's body is always parsed.
    return 0;
  }

  #start(r: LeanRequest): void {
    this.#head = undefined;
    this.#headSent = false;
    this.#mode = 'none';
    const ex = new LeanExchange(this.entry, this.#server.o, this, r, this.router);
    r.ex = ex;
    this.#server.o.handler(ex);
    if (r.chunks) {
      for (const c of r.chunks) ex.requestBody(c);
      r.chunks = undefined;
    }
    if (r.complete) ex.requestEnd();
  }

  /** Request body back-pressure from the upstream. */
  blockBody(blocked: boolean): void {
    this.#bodyBlocked = blocked;
    if (blocked) this.socket.pause();
    else this.#resumeReading();
  }

  #resumeReading(): void {
    if (!this.#bodyBlocked && this.#queue.length <= 1 && !this.#stopped && !this.socket.destroyed) this.socket.resume();
  }

  get headSent(): boolean {
    return this.#headSent;
  }

  /** Whether the connection stays open after the current response. */
  #keepAlive(r: LeanRequest): boolean {
    return r.keepAlive && !this.#closing && !this.#server.o.isDraining() && !this.#readEnded;
  }

  /**
   * Stores the response head (written with the first body bytes or the end, as node:http does). `raw` is
   * already filtered; framing headers in it are honoured, otherwise the body is chunked (or Content-Length: 0
   * when it turns out empty).
   */
  writeHead(r: LeanRequest, status: number, message: string, raw: readonly string[]): void {
    let head = `HTTP/1.1 ${status} ${message}\r\n`;
    let cl = false;
    let te: string | undefined;
    let date = false;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      head += `${name}: ${value}\r\n`;
      const n = name.length;
      if (n === 14 && name.toLowerCase() === 'content-length') cl = true;
      else if (n === 17 && name.toLowerCase() === 'transfer-encoding') te = value;
      else if (n === 4 && name.toLowerCase() === 'date') date = true;
    }
    if (!date) head += `Date: ${httpDate()}\r\n`;
    const bodyless = r.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    if (bodyless) this.#mode = 'none';
    else if (te !== undefined) this.#mode = /(?:^|\W)chunked(?:$|\W)/i.test(te) ? 'chunked' : 'close';
    else if (cl) this.#mode = 'length';
    else this.#mode = 'auto';
    if (this.#mode === 'close') this.#closing = true;
    this.#head = head;
  }

  #headerEnd(r: LeanRequest): string {
    return this.#keepAlive(r) ? 'Connection: keep-alive\r\n\r\n' : ((this.#closing = true), 'Connection: close\r\n\r\n');
  }

  /** Writes body bytes; false when the socket's buffer is full (wait for responseDrained). */
  writeBody(r: LeanRequest, chunk: Buffer): boolean {
    const s = this.socket;
    if (s.destroyed || chunk.length === 0) return true;
    if (this.#mode === 'none') return true;
    s.cork();
    if (this.#head !== undefined) {
      if (this.#mode === 'auto') {
        this.#mode = 'chunked';
        this.#head += 'Transfer-Encoding: chunked\r\n';
      }
      s.write(this.#head + this.#headerEnd(r), 'latin1');
      this.#head = undefined;
      this.#headSent = true;
    }
    const ok = writeBody(s, chunk, this.#mode === 'chunked');
    s.uncork();
    return ok;
  }

  /** Ends the response (with trailers when chunked) and moves on to the next request, or closes. */
  endResponse(r: LeanRequest, trailers: readonly string[]): void {
    const s = this.socket;
    if (s.destroyed) return;
    let out = '';
    if (this.#head !== undefined) {
      if (this.#mode === 'auto') {
        this.#mode = 'length';
        this.#head += 'Content-Length: 0\r\n';
      }
      out = this.#head + this.#headerEnd(r);
      this.#head = undefined;
      this.#headSent = true;
    }
    if (this.#mode === 'chunked') {
      out += '0\r\n';
      for (let i = 0; i + 1 < trailers.length; i += 2) out += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      out += '\r\n';
    }
    if (out) s.write(out, 'latin1');
    this.#next(r);
  }

  /** The exchange at the head of the queue is done with the connection (its response complete). */
  #next(r: LeanRequest): void {
    if (this.#queue[0] !== r) return;
    this.#queue.shift();
    if (this.#closing || !r.keepAlive || this.#server.o.isDraining()) {
      if (!r.complete) r.ex?.dropUpstream();
      this.#stopped = true;
      this.socket.end();
      return;
    }
    // Answered before its body arrived (a policy denial, an early upstream answer): the rest of the body is still
    // read (and sent on, to an upstream that answered early), and the connection serves the next request.
    const nr = this.#queue[0];
    if (nr) this.#start(nr);
    else if (this.#readEnded) {
      this.socket.end();
      return;
    }
    this.#maybeHandoff();
    this.#resumeReading();
  }

  /** The current response must be the connection's last. */
  closeAfter(): void {
    this.#closing = true;
  }

  /** Drain: a connection with no request in flight closes now. */
  closeIfIdle(): void {
    if (this.#queue.length === 0 && this.#parsing === undefined && this.#handoff === undefined) this.socket.destroy();
  }

  /** The headers of a request took longer than the header read timeout (slowloris): 408, as node:http says it. */
  headersTimedOut(): void {
    if (this.#stopped) return;
    if (this.#queue.length > 0) {
      this.socket.destroy();
      return;
    }
    this.#stopped = true;
    this.socket.end(clientErrorHead(408));
  }

  #clientError(code: string | undefined): void {
    this.#stopped = true;
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const cur = this.#queue[0];
    if (cur?.ex && this.#headSent) {
      this.socket.destroy();
      return;
    }
    for (const r of this.#queue) r.ex?.clientGone();
    this.#queue.length = 0;
    if (this.socket.writable) this.socket.end(clientErrorHead(status));
    else this.socket.destroy();
  }

  #maybeHandoff(): void {
    const bytes = this.#handoff;
    if (bytes === undefined || this.#queue.length > 0 || this.socket.destroyed) return;
    this.#handoff = undefined;
    this.#server.forget(this);
    this.#closeParser();
    const s = this.socket;
    s.removeListener('data', this.#onData);
    s.removeListener('end', this.#onEnd);
    s.removeListener('close', this.#onClose);
    s.removeListener('drain', this.#onDrain);
    s.removeListener('error', noop);
    s.unshift(bytes);
    this.#server.toNode(s);
    s.resume();
  }

  /** The exchange's response failed after it began, or the client must not wait: drop the connection. */
  destroy(): void {
    this.#stopped = true;
    this.socket.destroy();
  }
}

/** The RequestHead of a lean request: its raw header list, which is what gets forwarded. */
class LeanHead implements RequestHead {
  readonly #r: LeanRequest;
  readonly #conn: LeanConn;
  #headers: Record<string, string | string[]> | undefined;
  constructor(r: LeanRequest, conn: LeanConn) {
    this.#r = r;
    this.#conn = conn;
  }
  get method(): string {
    return this.#r.method;
  }
  get target(): string {
    return this.#r.url;
  }
  /** Lower-case names, joined as node:http's IncomingMessage.headers joins them. */
  get headers(): Record<string, string | string[]> {
    return (this.#headers ??= headerObject(this.#r.raw));
  }
  get connection(): object {
    return this.#conn.socket;
  }
  addHeader(name: string, value: string): void {
    this.#r.raw.push(name, value);
    this.#headers = undefined;
  }
  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.#r.raw.push(name, value);
  }
  removeHeader(name: string): void {
    const lower = name.toLowerCase();
    const out: string[] = [];
    const raw = this.#r.raw;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const n = raw[i] as string;
      if (n.length === lower.length && n.toLowerCase() === lower) continue;
      out.push(n, raw[i + 1] as string);
    }
    this.#r.raw = out;
    this.#headers = undefined;
  }
}

/** Names whose duplicates node:http drops (it keeps the first), as IncomingMessage does. */
const SINGLE = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

export function headerObject(raw: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const prev = out[name];
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else if (SINGLE.has(name)) continue;
    else out[name] = name === 'cookie' ? `${prev}; ${value}` : `${prev}, ${value}`;
  }
  return out;
}

/**
 * How the lean path frames a request's body, or undefined when node:http must serve it (no Host, Expect, a
 * transfer coding other than chunked, a body-less POST that node's client frames as chunked).
 */
export function leanFraming(method: string, raw: readonly string[]): Framing | undefined {
  let host = false;
  let te: string | undefined;
  let cl: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host' && raw[i + 1] !== '') host = true;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') return undefined;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (cl !== undefined) return undefined;
          cl = raw[i + 1] as string;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          if (te !== undefined) return undefined;
          te = raw[i + 1] as string;
        }
        break;
    }
  }
  if (!host) return undefined;
  if (te !== undefined) return cl === undefined && te.trim().toLowerCase() === 'chunked' ? 'chunked' : undefined;
  if (cl !== undefined) return cl === '0' ? 'none' : 'length';
  return BODYLESS_METHODS.has(method) ? 'none' : undefined;
}

/** One request on the lean path, forwarded through the lean client (http/h1-lean-client.ts). */
class LeanExchange extends Exchange {
  readonly #o: H1Options;
  readonly #conn: LeanConn;
  readonly #r: LeanRequest;
  #call: H1Call | undefined;
  /** A routed request's body, read from its start, and its client side once the route stage asks for it. */
  readonly #body: RequestBody | undefined;
  #down: LeanDownstream<LeanRequest> | undefined;
  /** Body bytes that came before forward() (layers run first; they are synchronous today). */
  #early: Buffer[] | undefined;
  #earlyEnd = false;

  constructor(entry: TargetEntry, o: H1Options, conn: LeanConn, r: LeanRequest, router: ConnRouter | undefined) {
    super(entry, isGrpcContentType(rawHeader(r.raw, 'content-type')), o.ctx, router);
    this.#o = o;
    this.#conn = conn;
    this.#r = r;
    this.#body = router && r.framing !== 'none' ? new RequestBody(() => conn.blockBody(false)) : undefined;
  }

  requestHead(): RequestHead {
    return new LeanHead(this.#r, this.#conn);
  }

  override header(name: string): string | undefined {
    const raw = this.#r.raw;
    // Length first: most names differ in length, so few are lower-cased.
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const n = raw[i] as string;
      if (n.length === name.length && n.toLowerCase() === name) return raw[i + 1];
    }
    return undefined;
  }

  /** A routed request's client side; tunnels (Upgrade, CONNECT) never take the lean path. */
  downstream(): LeanDownstream<LeanRequest> | undefined {
    if (!this.router) return undefined;
    // r.raw as the layers left it (ingress mode removed l5d-dst-override).
    this.#down ??= new LeanDownstream(this, this.#conn, this.#r, this.#r.method, this.#r.url, this.#r.raw, this.#body);
    return this.#down;
  }

  forward(): void {
    const r = this.#r;
    const conn = this.#conn;
    const addr = this.entry.target.addr;
    const filtered = filterHopByHop(r.raw, { keepTransferEncoding: true });
    const headers = this.#o.ctx.clientIdHeader ? applyClientIdRaw(filtered, this.entry.clientId) : filtered;
    const drop = this.entry.target.direction === 'outbound' ? OUTBOUND_RESPONSE_DROP : undefined;
    const call: H1Call = this.#o.pools.lean.request(this.entry, requestHead(r.method, r.url, headers), r.framing, r.method === 'HEAD', {
      head: (status, message, raw) => {
        this.status = status;
        const g = rawHeader(raw, 'grpc-status');
        if (g !== undefined) this.grpcStatus = Number(g);
        conn.writeHead(r, status, message, filterHopByHop(raw, { keepTransferEncoding: true, drop }));
      },
      body: (chunk) => {
        this.firstByte();
        if (this.watcher !== undefined) this.watcher.bodyBytes(chunk.length);
        return conn.writeBody(r, chunk);
      },
      end: (trailers) => {
        if (trailers.length > 0) {
          const gs = rawHeader(trailers, 'grpc-status');
          if (gs !== undefined) this.grpcStatus = Number(gs);
        }
        this.finish();
        conn.endResponse(r, trailers);
      },
      error: (err, responded) => {
        if (this.finished) return;
        if (!responded) return this.fail(asProxyError(err, addr));
        // The server closed mid-response: the client sees the connection cut, not a truncated success.
        this.errorLabel = 'i/o';
        this.finish();
        conn.destroy();
      },
    });
    this.#call = call;
    if (r.framing === 'none') {
      call.end();
      return;
    }
    if (this.#early) for (const c of this.#early) this.requestBody(c);
    this.#early = undefined;
    if (this.#earlyEnd) call.end();
  }

  requestBody(chunk: Buffer): void {
    if (this.router) return this.#body?.feed(chunk, () => this.#conn.blockBody(true));
    const call = this.#call;
    if (this.finished && !call) return;
    if (!call) {
      (this.#early ??= []).push(Buffer.from(chunk));
      return;
    }
    if (call.write(chunk)) return;
    this.#conn.blockBody(true);
    call.onDrain(() => this.#conn.blockBody(false));
  }

  requestEnd(): void {
    if (this.router) {
      this.#body?.push(null);
      // All of it is in: a body still held by its reader no longer holds the connection.
      this.#conn.blockBody(false);
    } else if (this.#call) this.#call.end();
    else this.#earlyEnd = true;
  }

  responseDrained(): void {
    if (this.router) this.#down?.drained();
    else this.#call?.resume();
  }

  /** A routed request answered before its body was read: the rest flows on (to its reader, or nowhere), as node:http dumps it. */
  override finish(): void {
    super.finish();
    const body = this.#body;
    if (body && !body.readableEnded && !body.destroyed) body.resume();
  }

  /** The response is complete but the request body will not be: the upstream connection cannot be reused. */
  dropUpstream(): void {
    if (this.router) this.#body?.cut();
    else this.#call?.abort();
  }

  /** The client went away (or closed mid-body): stop the upstream request too. */
  clientGone(): void {
    this.#body?.cut();
    this.#down?.gone();
    if (this.finished) return;
    this.#call?.abort();
    this.errorLabel = 'i/o';
    this.finish();
  }

  protected respondError(err: ProxyError): void {
    const s = synthesize(err, this.grpc, this.#o.ctx.respond, this.entry.clientId !== undefined);
    this.status = s.status;
    if (this.grpc) this.grpcStatus = err.grpcStatus;
    const conn = this.#conn;
    this.#call?.abort();
    if (conn.headSent) {
      conn.destroy();
      return;
    }
    const raw = Object.entries(s.headers).flat();
    conn.writeHead(this.#r, s.status, STATUS_CODES[s.status] ?? 'unknown', raw);
    if (s.close) conn.closeAfter();
    // fail() finishes the exchange after this; the response ends on the next line.
    conn.endResponse(this.#r, []);
  }
}

/** The lean path of one node:http server: which connections it serves, and the header-timeout sweep. */
class LeanServer {
  readonly o: H1Options;
  readonly #server: Server;
  readonly #nodeListener: (socket: Socket) => void;
  readonly #conns = new Set<LeanConn>();
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(server: Server, o: H1Options, nodeListener: (socket: Socket) => void, checkEveryMs: number) {
    this.#server = server;
    this.o = o;
    this.#nodeListener = nodeListener;
    if (o.headerReadTimeoutMs > 0) {
      this.#sweeper = setInterval(() => this.sweep(Date.now()), checkEveryMs);
      this.#sweeper.unref();
    }
  }

  accept(socket: Socket): void {
    const entry = targetOf(socket);
    if (!entry) return this.toNode(socket);
    this.#conns.add(new LeanConn(this, socket, entry, routerOf(socket)));
  }

  toNode(socket: Socket): void {
    this.#nodeListener.call(this.#server, socket);
  }

  forget(c: LeanConn): void {
    this.#conns.delete(c);
  }

  sweep(now: number): void {
    const limit = this.o.headerReadTimeoutMs;
    for (const c of this.#conns) if (!c.headersDone && now - c.headersStart >= limit) c.headersTimedOut();
  }

  closeIdle(): void {
    for (const c of [...this.#conns]) c.closeIfIdle();
  }
}

/**
 * Puts the lean path in front of a node:http server fed with 'connection' events: each connection starts on the
 * lean path and moves to node:http at the first request it cannot serve. closeIdleConnections (the drain)
 * closes idle lean connections as well.
 */
export function leanFront(server: Server, o: H1Options, checkEveryMs: number): void {
  const [nodeListener] = server.listeners('connection') as ((socket: Socket) => void)[];
  if (!nodeListener) throw new Error('node:http server without its connection listener');
  server.removeListener('connection', nodeListener);
  const lean = new LeanServer(server, o, nodeListener, checkEveryMs);
  server.on('connection', (socket: Socket) => lean.accept(socket));
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    closeIdle();
    lean.closeIdle();
  };
}

function noop(): void {
  // socket errors end in 'close', which is where the connection is cleaned up
}
