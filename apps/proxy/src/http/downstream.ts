// The client's side of one outbound HTTP request, whatever its codec: the request as the route stages read it
// (method, target, authority, lower-case headers without hop-by-hop ones, body) and the response writer they
// answer through. HTTP/1 (node:http's IncomingMessage/ServerResponse) and HTTP/2 (a server stream) each build one;
// the stages above never see the protocol.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Readable, Writable } from 'node:stream';
import type { Downstream, Exchange, Headers } from './exchange.ts';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, HTTP2_FLAG_END_STREAM } = constants as unknown as Record<string, number>;
const END_STREAM = HTTP2_FLAG_END_STREAM ?? 0x1;
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host']);

/**
 * Request headers from raw HTTP/1 pairs: lower-case, hop-by-hop (and those Connection lists) removed. Host
 * stays: upgraded to HTTP/2 it rides as a `host` header, which a Linkerd server proxy needs to write the app's
 * Host (docs/reference/orig-proto.md); to an HTTP/1 endpoint it is set from the authority.
 */
function h1Headers(raw: readonly string[]): Headers {
  // Most requests carry no Connection header: no set of listed names then.
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') for (const t of (raw[i + 1] as string).split(',')) (listed ??= new Set()).add(t.trim().toLowerCase());
  }
  const out: Headers = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if ((HOP_BY_HOP.has(name) && name !== 'host') || listed?.has(name) === true || name === 'l5d-orig-proto') continue;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    if (name === 'host' && out.host !== undefined) continue;
    const prev = out[name];
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

const H1_1 = { version: '1.1', absolute: false } as const;

/** What an HTTP/1 request line and its Host say, as the route stages read them. */
export type H1RequestLine = Pick<Downstream, 'target' | 'path' | 'authority' | 'scheme' | 'h1'>;

/** The target as received, its path, authority (Host, or an absolute-form URL's) and scheme, and the version. */
export function h1RequestLine(url: string, host: string | undefined, minor: number): H1RequestLine {
  const abs = url.charCodeAt(0) === 0x2f ? null : /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(url);
  return {
    target: url,
    path: abs ? abs[3] || '/' : url,
    authority: abs ? abs[2] : host,
    scheme: abs ? (abs[1] as string).toLowerCase() : 'http',
    h1: minor === 0 ? { version: '1.0', absolute: abs !== null } : abs ? { version: '1.1', absolute: true } : H1_1,
  };
}

/** The request side of an HTTP/1 Downstream, whatever writes its response (node:http here, h1-lean-downstream.ts). */
export abstract class H1RequestSide implements Downstream {
  readonly ex: Exchange;
  readonly method: string;
  readonly target: string;
  readonly path: string;
  readonly authority: string | undefined;
  readonly scheme: string;
  readonly h1: Downstream['h1'];
  readonly headers: Headers;
  readonly body: Readable | undefined;
  readonly declaredLength: number | undefined;

  /** `raw`: the request's header pairs as received; `cl`: its Content-Length. */
  constructor(ex: Exchange, method: string, line: H1RequestLine, raw: readonly string[], body: Readable | undefined, cl: string | undefined) {
    this.ex = ex;
    this.method = method;
    this.target = line.target;
    this.path = line.path;
    this.authority = line.authority;
    this.scheme = line.scheme;
    this.h1 = line.h1;
    this.headers = h1Headers(raw);
    this.body = body;
    this.declaredLength = cl === undefined ? undefined : Number(cl);
  }

  abstract get headersSent(): boolean;
  abstract head(status: number, headers: Headers, end: boolean): Writable | undefined;
  abstract end(trailers: IncomingHttpHeaders | undefined): void;
  abstract abort(code?: number): void;
  abstract onGone(f: () => void): void;
}

/** The client side of an HTTP/1 request: one object per request, its methods on the prototype. */
class H1Downstream extends H1RequestSide {
  readonly #res: ServerResponse;
  readonly #isDraining: () => boolean;

  constructor(ex: Exchange, req: IncomingMessage, res: ServerResponse, isDraining: () => boolean) {
    const cl = req.headers['content-length'];
    const bodyless = (cl === undefined || cl === '0') && req.headers['transfer-encoding'] === undefined;
    super(ex, req.method ?? 'GET', h1RequestLine(req.url ?? '/', req.headers.host, req.httpVersionMinor), req.rawHeaders, bodyless ? undefined : req, cl);
    this.#res = res;
    this.#isDraining = isDraining;
    req.on('error', noop);
    // The body is read as soon as the request is routed, so the client need not wait for the upstream's 100.
    const expect = req.headers.expect;
    if (!bodyless && expect !== undefined && /^\s*100-continue\s*$/i.test(expect)) res.writeContinue();
  }

  get headersSent(): boolean {
    return this.#res.headersSent;
  }

  head(status: number, headers: Headers, end: boolean): ServerResponse | undefined {
    const res = this.#res;
    if (this.#isDraining()) res.shouldKeepAlive = false;
    res.writeHead(status, headers);
    if (!end) return res;
    res.end();
    return undefined;
  }

  end(trailers: IncomingHttpHeaders | undefined): void {
    if (trailers) this.#res.addTrailers(trailers as Record<string, string>);
    this.#res.end();
  }

  abort(): void {
    this.#res.destroy();
  }

  onGone(f: () => void): void {
    const ex = this.ex;
    this.#res.on('close', () => {
      if (!ex.finished) f();
    });
  }
}

/** The client side of an HTTP/1 request. */
export function h1Downstream(ex: Exchange, req: IncomingMessage, res: ServerResponse, isDraining: () => boolean): Downstream {
  return new H1Downstream(ex, req, res, isDraining);
}

/** The client side of an HTTP/2 request (a stream of the outbound HTTP/2 server). */
export function h2Downstream(ex: Exchange, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): Downstream {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  const cl = headers['content-length'];
  let trailers: IncomingHttpHeaders | undefined;
  stream.on('error', noop);
  return {
    ex,
    method: String(headers[':method'] ?? 'GET'),
    target: String(headers[':path'] ?? '/'),
    path: String(headers[':path'] ?? '/'),
    authority: headers[':authority'],
    scheme: String(headers[':scheme'] ?? 'http'),
    h1: undefined,
    headers: out,
    body: (flags & END_STREAM) !== 0 ? undefined : stream,
    declaredLength: cl === undefined ? undefined : Number(cl),
    get headersSent() {
      return stream.headersSent;
    },
    head(status, h, end) {
      if (stream.closed || stream.destroyed) return end ? undefined : stream;
      const rh: OutgoingHttpHeaders = { ':status': status };
      for (const [name, value] of Object.entries(h)) if (!HOP_BY_HOP.has(name)) rh[name] = value;
      if (end) {
        stream.respond(rh, { endStream: true });
        return undefined;
      }
      stream.respond(rh, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(trailers ?? {}));
      return stream;
    },
    end(t) {
      trailers = t;
      if (!stream.closed) stream.end();
    },
    abort(code) {
      if (!stream.closed) stream.close(code ?? NGHTTP2_INTERNAL_ERROR);
    },
    onGone(f) {
      stream.on('close', () => {
        if (!ex.finished && stream.rstCode !== NGHTTP2_NO_ERROR) f();
        else if (!ex.finished && !stream.headersSent) f();
      });
    },
  };
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}
