// Retries of native HTTP/2 requests (gRPC) on retryable ServiceProfile routes (docs/reference/linkerd-proxy.md §5 "Retries" B):
// the request body is buffered up to 64 KiB so it can be sent again in full; an attempt whose response headers
// are a failure under the route's classes (5xx, or a gRPC failure code in a trailers-only response) is dropped
// and retried on a newly picked endpoint while the budget allows. Larger bodies are sent once. The response
// of the last attempt is relayed with its trailers; the route timeout stays with the caller (http/h2.ts).
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { asProxyError } from '../errors.ts';
import type { Exchange } from '../http/exchange.ts';
import type { RouteSeries } from '../profiles/metrics.ts';
import { bufferForRetry, sendWithRetries, type AttemptResult, type BufferedBody } from '../profiles/retry.ts';
import type { CompiledRoute } from '../profiles/routes.ts';
import type { MeshPick, MeshUpstream } from './mesh-upstream.ts';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, HTTP2_FLAG_END_STREAM } = constants as unknown as Record<string, number>;
const END_STREAM = HTTP2_FLAG_END_STREAM ?? 0x1;
const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings'];
const noop = (): void => undefined;

export interface RetryableH2 {
  readonly ex: Exchange;
  /** The client's stream (the app's request), answered with the last attempt's response. */
  readonly stream: ServerHttp2Stream;
  readonly headers: IncomingHttpHeaders;
  /** The request had no body (END_STREAM on its headers). */
  readonly endStream: boolean;
  readonly mesh: MeshUpstream;
  readonly route: CompiledRoute;
  readonly series: RouteSeries | undefined;
  /** Linkerd's name of an HTTP/2 reset code, for the error label. */
  readonly resetName: (code: number) => string;
}

interface Attempt {
  readonly up: ClientHttp2Stream;
  readonly h: IncomingHttpHeaders;
  readonly ended: boolean;
  readonly p: MeshPick;
  /** Trailers, once they came (listened for from the start: they may arrive before the attempt is chosen). */
  readonly tail: { trailers?: IncomingHttpHeaders };
  /** Its status, for the route_actual_response_total of a dropped attempt. */
  readonly status: number;
}

function streamError(addr: string): Error {
  return Object.assign(new Error(`stream reset by ${addr}`), { code: 'ERR_HTTP2_STREAM_ERROR' });
}

export function forwardRetryable(o: RetryableH2): void {
  const { ex, stream, mesh, route, series } = o;
  const out: OutgoingHttpHeaders = { ...o.headers };
  for (const h of CONNECTION_SPECIFIC) delete out[h];
  const streams = new Set<ClientHttp2Stream>();
  const cancelAll = () => {
    for (const up of streams) if (!up.closed) up.close(NGHTTP2_CANCEL);
  };
  stream.on('error', noop);
  const cl = o.headers['content-length'];
  const buffering: Promise<BufferedBody> = o.endStream ? Promise.resolve({ replayable: true, body: Buffer.alloc(0) }) : bufferForRetry(stream, cl === undefined ? undefined : Number(cl));

  const send = async (attempt: number): Promise<AttemptResult<Attempt>> => {
    const body = await buffering;
    if (ex.finished) throw new Error('request ended before it was sent');
    const p = await mesh.pick(attempt === 0 ? ex : undefined);
    try {
      const session = await mesh.h2Session(p.me);
      if (attempt > 0) series?.actualRequests.inc();
      const up = session.request(out, { endStream: o.endStream });
      streams.add(up);
      up.on('error', noop);
      const tail: { trailers?: IncomingHttpHeaders } = {};
      up.on('trailers', (t) => (tail.trailers = t));
      if (!o.endStream) {
        if (body.replayable) up.end(body.body);
        else {
          up.write(body.prefix);
          if (body.rest) body.rest.pipe(up);
          else up.end();
        }
      }
      const [h, flags] = await new Promise<[IncomingHttpHeaders, number]>((resolve, reject) => {
        up.once('response', (headers, f: number) => resolve([headers, f]));
        up.once('error', reject);
        up.once('close', () => reject(streamError(p.me.endpoint.addr)));
      });
      const status = Number(h[':status']);
      const g = h['grpc-status'];
      const grpcStatus = typeof g === 'string' ? Number(g) : undefined;
      const a: Attempt = { up, h, ended: (flags & END_STREAM) !== 0, p, status, tail };
      return { status, ...(grpcStatus !== undefined ? { grpcStatus } : {}), response: a };
    } catch (err) {
      p.done(false);
      throw err;
    }
  };
  const discard = (a: Attempt) => {
    streams.delete(a.up);
    if (!a.up.closed) a.up.close(NGHTTP2_CANCEL);
    a.p.done(false);
    series?.response(a.status, true).actual.inc();
  };

  // The client giving up (or the route timeout's 504) ends every attempt still running.
  ex.onFinish(cancelAll);
  stream.on('close', () => {
    if (ex.finished) return;
    cancelAll();
    // Closed without a reset: the relayed response completed (its upstream close may come later).
    if (stream.rstCode !== NGHTTP2_NO_ERROR) ex.errorLabel = `h2(${o.resetName(stream.rstCode)})`;
    ex.finish();
  });

  buffering
    .then((body) => sendWithRetries<Attempt>({ route, budget: mesh.budget(), replayable: body.replayable, send, discard, onRetryable: (allowed) => series?.retryable(allowed).inc() }))
    .then(
      (r) => deliver(o, r.response),
      (err: unknown) => {
        if (!ex.finished) ex.fail(asProxyError(err, ex.entry.target.addr));
      },
    );
}

/** Relays the chosen attempt's response, body and trailers to the client; resets pass through with their code. */
function deliver(o: RetryableH2, a: Attempt): void {
  const { ex, stream } = o;
  const { up, h, p } = a;
  ex.onFinish((e) => p.done(e.errorLabel === '' && e.status > 0 && e.status < 500));
  if (ex.finished || stream.closed) {
    if (!up.closed) up.close(NGHTTP2_CANCEL);
    return;
  }
  ex.status = Number(h[':status']);
  const g = h['grpc-status'];
  if (typeof g === 'string') ex.grpcStatus = Number(g);
  if (a.ended) {
    stream.respond(h, { endStream: true });
    ex.finish();
    return;
  }
  // The gRPC status in the trailers is known before the exchange ends (the upstream may close first).
  const status = (t: IncomingHttpHeaders) => {
    const tg = t['grpc-status'];
    if (typeof tg === 'string') ex.grpcStatus = Number(tg);
  };
  if (a.tail.trailers) status(a.tail.trailers);
  up.on('trailers', status);
  stream.respond(h, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(a.tail.trailers ?? {}));
  up.once('data', () => {
    ex.firstByte();
    p.firstByte();
  });
  up.pipe(stream);
  up.on('close', () => {
    if (up.rstCode !== undefined && up.rstCode !== NGHTTP2_NO_ERROR && !stream.closed) {
      ex.errorLabel = `h2(${o.resetName(up.rstCode)})`;
      stream.close(up.rstCode);
    }
    ex.finish();
  });
}
