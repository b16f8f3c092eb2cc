// The client's side of one outbound HTTP request, whatever its codec: the request as the route stages read it
// (method, target, authority, lower-case headers without hop-by-hop ones, body) and the response writer they
// answer through. HTTP/1 (node:http's IncomingMessage/ServerResponse) and HTTP/2 (a server stream) each build one;
// the stages above never see the protocol.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
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
  const listed = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') for (const t of (raw[i + 1] as string).split(',')) listed.add(t.trim().toLowerCase());
  }
  const out: Headers = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if ((HOP_BY_HOP.has(name) && name !== 'host') || listed.has(name) || name === 'l5d-orig-proto') continue;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    if (name === 'host' && out.host !== undefined) continue;
    const prev = out[name];
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

/** The client side of an HTTP/1 request. */
export function h1Downstream(ex: Exchange, req: IncomingMessage, res: ServerResponse, isDraining: () => boolean): Downstream {
  const url = req.url ?? '/';
  const abs = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i.exec(url);
  const cl = req.headers['content-length'];
  const bodyless = (cl === undefined || cl === '0') && req.headers['transfer-encoding'] === undefined;
  req.on('error', noop);
  // The body is read as soon as the request is routed, so the client need not wait for the upstream's 100.
  const expect = req.headers.expect;
  if (!bodyless && expect !== undefined && /^\s*100-continue\s*$/i.test(expect)) res.writeContinue();
  return {
    ex,
    method: req.method ?? 'GET',
    target: url,
    path: abs ? abs[3] || '/' : url,
    authority: abs ? abs[2] : req.headers.host,
    scheme: abs ? (abs[1] as string).toLowerCase() : 'http',
    h1: { version: req.httpVersionMinor === 0 ? '1.0' : '1.1', absolute: abs !== null },
    headers: h1Headers(req.rawHeaders),
    body: bodyless ? undefined : req,
    declaredLength: cl === undefined ? undefined : Number(cl),
    get headersSent() {
      return res.headersSent;
    },
    head(status, headers, end) {
      if (isDraining()) res.shouldKeepAlive = false;
      res.writeHead(status, headers);
      if (end) {
        res.end();
        return undefined;
      }
      return res;
    },
    end(trailers) {
      if (trailers) res.addTrailers(trailers as Record<string, string>);
      res.end();
    },
    abort() {
      res.destroy();
    },
    onGone(f) {
      res.on('close', () => {
        if (!ex.finished) f();
      });
    },
  };
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
