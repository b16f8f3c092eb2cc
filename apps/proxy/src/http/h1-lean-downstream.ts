// The client side of a routed request (a meshed target's) on the lean HTTP/1 path (h1-lean-server.ts): the
// Downstream the outbound route stages read and answer through, as downstream.ts builds it from node:http's
// request and response, here over the lean connection's parser and response writer. The request body is a
// Readable fed by the parser (the connection pauses while it is full); the response head is written with the
// first body bytes, as the lean path writes every response.
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import { Readable, type Writable } from 'node:stream';
import { H1RequestSide, h1RequestLine, HOP_BY_HOP } from './downstream.ts';
import type { Exchange, Headers } from './exchange.ts';
import { rawHeader } from './headers.ts';
import { STATUS_CODES } from './node-http.ts';

/** What the downstream needs of its lean connection, for its request `r`. */
export interface LeanResponder<R> {
  writeHead(r: R, status: number, message: string, raw: readonly string[]): void;
  /** False when the socket's buffer is full: the connection calls `drained` on the exchange later. */
  writeBody(r: R, chunk: Buffer): boolean;
  endResponse(r: R, trailers: readonly string[]): void;
  /** Request body back-pressure: pause reading the client while the body's reader is behind. */
  blockBody(blocked: boolean): void;
  destroy(): void;
}

/** The request body as the route stages read it, fed by the parser from the request's start. */
export class RequestBody extends Readable {
  readonly #unblock: () => void;
  constructor(unblock: () => void) {
    super();
    this.#unblock = unblock;
    this.on('error', noop);
  }

  override _read(): void {
    this.#unblock();
  }

  /** Body bytes from the parser; a full buffer pauses the client (`block`). */
  feed(chunk: Buffer, block: () => void): void {
    if (!this.push(chunk)) block();
  }

  /** The client closed before the body ended: its reader sees it cut. */
  cut(): void {
    if (!this.readableEnded) this.destroy();
  }
}

/** The response body sink: writes to the lean connection, 'drain' when its socket drains. */
class ResponseSink<R> extends EventEmitter {
  readonly #d: LeanDownstream<R>;
  constructor(d: LeanDownstream<R>) {
    super();
    this.#d = d;
  }

  write(chunk: Buffer): boolean {
    return this.#d.writeBody(chunk);
  }
}

/** Raw header pairs of a response head or trailers from a header object, without hop-by-hop names. */
function rawOf(h: Headers | IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const name in h) {
    const v = h[name];
    if (v === undefined || HOP_BY_HOP.has(name)) continue;
    if (typeof v === 'string') raw.push(name, v);
    else if (Array.isArray(v)) for (const one of v) raw.push(name, one);
    else raw.push(name, String(v));
  }
  return raw;
}

export class LeanDownstream<R> extends H1RequestSide {
  #headersSent = false;
  #sink: ResponseSink<R> | undefined;
  #gone: (() => void)[] | undefined;
  readonly #conn: LeanResponder<R>;
  readonly #r: R;

  /** Built when the route stage asks (after the layers' header edits); `body` was fed from the start. */
  constructor(ex: Exchange, conn: LeanResponder<R>, r: R, method: string, url: string, raw: readonly string[], body: RequestBody | undefined) {
    super(ex, method, h1RequestLine(url, rawHeader(raw, 'host'), 1), raw, body, rawHeader(raw, 'content-length'));
    this.#conn = conn;
    this.#r = r;
  }

  get headersSent(): boolean {
    return this.#headersSent;
  }

  head(status: number, headers: Headers, end: boolean): Writable | undefined {
    this.#headersSent = true;
    this.#conn.writeHead(this.#r, status, STATUS_CODES[status] ?? 'unknown', rawOf(headers));
    if (end) {
      this.#conn.endResponse(this.#r, []);
      return undefined;
    }
    // The relay uses write() and 'drain' only (outbound/endpoint-client.ts relayBody).
    return (this.#sink = new ResponseSink(this)) as unknown as Writable;
  }

  writeBody(chunk: Buffer): boolean {
    const w = this.ex.watcher;
    if (w !== undefined) w.bodyBytes(chunk.length);
    return this.#conn.writeBody(this.#r, chunk);
  }

  /** The connection's socket drained. */
  drained(): void {
    this.#sink?.emit('drain');
  }

  end(trailers: IncomingHttpHeaders | undefined): void {
    this.#conn.endResponse(this.#r, trailers ? rawOf(trailers) : []);
  }

  abort(): void {
    this.#conn.destroy();
  }

  onGone(f: () => void): void {
    (this.#gone ??= []).push(f);
  }

  /** The client went away: whoever waits on it hears so, unless the exchange is over. */
  gone(): void {
    if (this.ex.finished || !this.#gone) return;
    for (const f of this.#gone) f();
  }
}

function noop(): void {
  // a cut request body ends in 'close', which the route stages handle
}
