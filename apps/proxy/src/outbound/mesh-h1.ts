// HTTP/1 between proxies: an HTTP/1 request to an h2-hinted endpoint sent as HTTP/1 over a pool of keep-alive
// mTLS connections to it, with the lean HTTP/1 codec the plaintext path uses (http/h1-lean-client.ts), instead of
// upgraded to HTTP/2 with l5d-orig-proto. The server proxy detects the protocol after TLS, so both are accepted
// there (Linkerd's inbound too). It trades HTTP/2's multiplexing (one connection per endpoint) for a connection
// per concurrent request, and costs less CPU per request: no HTTP/2 framing or HPACK on either side, and the
// server proxy forwards the request without a downgrade. What the codec cannot frame (HTTP/1.0, Expect, a header
// value with a line break) is left to the HTTP/2 upgrade.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Endpoint } from '../discovery/endpoints.ts';
import type { Headers } from '../http/exchange.ts';
import { H1Pool, type Framing, type H1Call, type H1CallHandler } from '../http/h1-lean-client.ts';
import { grpcOf, REQUEST_DROP, RESPONSE_DROP, type Body, type OutRequest, type SendListener, type Sent, type UpResponse } from './send-interface.ts';
/** A line break or NUL would end the header early on the wire; the HTTP/2 upgrade refuses such a value. */
const UNSAFE = /[\r\n\0]/;

export interface MeshH1Options {
  /** Idle pooled connections close after this long (0: never). */
  readonly idleTimeoutMs: number;
  /** Idle connections kept per endpoint. */
  readonly maxIdle: number;
}

/** An endpoint as the pool knows it: connections to it are opened for this identity. */
interface Key {
  readonly e: Endpoint;
}

/** The request head on the wire, or undefined when HTTP/1 cannot carry the request as it is. */
export function meshH1Head(r: OutRequest, headers: Headers, framing: Framing): string | undefined {
  if (r.h1?.version !== '1.1' || headers['expect'] !== undefined) return undefined;
  let head = `${r.method} ${r.target} HTTP/1.1\r\n`;
  if (r.authority !== undefined) {
    if (UNSAFE.test(r.authority)) return undefined;
    head += `host: ${r.authority}\r\n`;
  }
  for (const name in headers) {
    if (name === 'host' || name === REQUEST_DROP) continue;
    const v = headers[name];
    if (typeof v === 'string') {
      if (UNSAFE.test(v) || UNSAFE.test(name)) return undefined;
      head += `${name}: ${v}\r\n`;
      continue;
    }
    if (v === undefined) continue;
    for (const one of v) {
      if (UNSAFE.test(one) || UNSAFE.test(name)) return undefined;
      head += `${name}: ${one}\r\n`;
    }
  }
  if (framing === 'chunked') head += 'transfer-encoding: chunked\r\n';
  return head + 'connection: keep-alive\r\n\r\n';
}

/** How the body goes on the wire: as the client declared its length, else chunked. */
function framingOf(headers: Headers, body: Body): Framing {
  if (headers['content-length'] !== undefined) return 'length';
  return body.kind === 'none' ? 'none' : 'chunked';
}

function responseHeaders(raw: readonly string[]): Headers {
  const out: Headers = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (RESPONSE_DROP.has(name)) continue;
    const value = raw[i + 1] as string;
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function trailersOf(raw: readonly string[]): Record<string, string> | undefined {
  if (raw.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? (raw[i + 1] as string) : `${prev}, ${raw[i + 1] as string}`;
  }
  return out;
}

/** A response body read from the connection, paused (the connection with it) while its reader is behind. */
class ResponseBody extends Readable {
  call: H1Call<Key> | undefined;

  override _read(): void {
    this.call?.resume();
  }
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}

/** An attempt's response once its head is in. */
class MeshH1Response implements UpResponse {
  readonly status: number;
  readonly grpcStatus: number | undefined;
  readonly headers: Headers;
  readonly body: ResponseBody;
  readonly ended = false;
  readonly #a: MeshH1Attempt;

  constructor(a: MeshH1Attempt, status: number, raw: readonly string[]) {
    this.#a = a;
    this.status = status;
    this.headers = responseHeaders(raw);
    this.grpcStatus = grpcOf(this.headers);
    this.body = a.stream;
  }

  trailers(): Record<string, string> | undefined {
    return this.#a.trailers;
  }

  resetCode(): undefined {
    return undefined;
  }

  cancel(): void {
    this.#a.cancel();
  }
}

/** One attempt over the pool: what the codec tells it, passed on to the attempt's listener. */
class MeshH1Attempt implements H1CallHandler, Sent {
  /** The response body as the relay reads it. */
  readonly stream = new ResponseBody();
  call: H1Call<Key> | undefined;
  trailers: Record<string, string> | undefined;
  readonly #l: SendListener;

  constructor(l: SendListener) {
    this.#l = l;
    this.stream.on('error', noop);
  }

  head(status: number, _message: string, raw: string[]): void {
    this.#l.response(new MeshH1Response(this, status, raw));
  }

  /** False when the body stream is full: the connection pauses until the relay reads on (ResponseBody._read). */
  body(chunk: Buffer): boolean {
    return this.stream.push(chunk);
  }

  end(raw: string[]): void {
    this.trailers = trailersOf(raw);
    this.stream.push(null);
  }

  error(err: Error, responded: boolean): void {
    if (!responded) return this.#l.error(err);
    // Cut mid-response: the relay sees the body close without its end.
    this.stream.destroy(err);
  }

  cancel(): void {
    this.call?.abort();
    if (!this.stream.readableEnded) this.stream.destroy();
  }
}

export class MeshH1Pool {
  readonly #pool: H1Pool<Key>;
  readonly #keys = new Map<string, Key>();

  /** `connect` opens a connection to an endpoint: mTLS to its identity, counted and under the connect timeout. */
  constructor(o: MeshH1Options, connect: (e: Endpoint) => Socket) {
    this.#pool = new H1Pool<Key>({ connectTimeoutMs: 0, idleTimeoutMs: o.idleTimeoutMs, maxIdle: o.maxIdle, connect: (k) => connect(k.e), addrOf: (k) => k.e.addr });
  }

  /** The pool's key for `e`: a new one when its identity changed, so no connection verified for another is reused. */
  #key(e: Endpoint): Key {
    let k = this.#keys.get(e.addr);
    if (!k || k.e.identity !== e.identity || k.e.serverName !== e.serverName) this.#keys.set(e.addr, (k = { e }));
    return k;
  }

  /** Sends one attempt as HTTP/1; undefined (nothing sent) when HTTP/1 cannot carry it as it is. */
  send(e: Endpoint, r: OutRequest, headers: Headers, body: Body, l: SendListener): Sent | undefined {
    const framing = framingOf(headers, body);
    const head = meshH1Head(r, headers, framing);
    if (head === undefined) return undefined;
    const a = new MeshH1Attempt(l);
    const call = this.#pool.request(this.#key(e), head, framing, r.method === 'HEAD', a);
    a.call = call;
    a.stream.call = call;
    writeBody(call, body, l);
    return a;
  }

  /** Idle connections to `e` (tests). */
  idleCount(e: Endpoint): number {
    const k = this.#keys.get(e.addr);
    return k ? this.#pool.idleCount(k) : 0;
  }

  close(): void {
    this.#pool.destroy();
    this.#keys.clear();
  }
}

function writeBody(call: H1Call<Key>, body: Body, l: SendListener): void {
  if (body.kind === 'buffer') call.write(body.data);
  else if (body.kind === 'stream') {
    if (body.prefix.length > 0) call.write(body.prefix);
    const rest = body.rest;
    if (rest) {
      rest.on('data', (chunk: Buffer) => {
        if (call.write(chunk)) return;
        rest.pause();
        call.onDrain(() => rest.resume());
      });
      rest.once('end', () => {
        call.end();
        l.requestEnd();
      });
      // A body paused before (a retry buffer's cap reached) flows again.
      rest.resume();
      return;
    }
  }
  call.end();
  l.requestEnd();
}
