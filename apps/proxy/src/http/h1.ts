// HTTP/1.1: a node:http server fed with detected connections, and a forwarder that streams requests to the
// original destination through the keep-alive pool. Upgrade (WebSocket) and CONNECT are tunnelled after the
// upstream agrees; malformed requests get 400/408/431 from the server and never reach the upstream.
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { constants as h2constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { asProxyError, type ProxyError } from '../errors.ts';
import { splice } from '../tcp/forward.ts';
import type { TargetEntry } from '../tcp/targets.ts';
import type { MeshPick, MeshUpstream } from '../outbound/mesh-upstream.ts';
import { h1Downstream } from '../outbound/policy/http.ts';
import type { RouteSeries } from '../profiles/metrics.ts';
import { bufferForRetry, sendWithRetries, withRouteTimeout, type AttemptResult, type BufferedBody } from '../profiles/retry.ts';
import type { CompiledRoute } from '../profiles/routes.ts';
import { applyClientIdRaw } from '../tls/client-id.ts';
import { canUpgrade, L5D_ORIG_PROTO, upgradeRequest, type H1RequestFacts } from '../tls/orig-proto.ts';
import { countWrites, Exchange, type ExchangeWatcher, type RequestHead } from './exchange.ts';
import { filterHopByHop, rawHeader, responseHead } from './headers.ts';
import { requestHead, type Framing, type H1Call } from './h1-lean-client.ts';
import { leanFront, type H1Options } from './h1-lean-server.ts';
import { ingressOf, targetOf, upstreamOf } from './connection.ts';
import { ingressAuthority, L5D_DST_OVERRIDE, type IngressRouter } from '../outbound/ingress.ts';
import { L5D_REQUIRE_ID, requiredIdentity } from '../outbound/require-id.ts';
import { L5D_DST_CANONICAL } from '../outbound/routes.ts';
import { allowHalfOpen, httpParser, responseStarted } from './node-internals.ts';
import type { PoolRequestArgs } from './pool.ts';
import { h1Head } from './request-head.ts';
import { isGrpcContentType, synthesize } from './respond.ts';

/** Headers a client proxy strips from upstream responses (Linkerd's outbound does the same). */
const OUTBOUND_RESPONSE_DROP = new Set(['l5d-proxy-error', 'l5d-proxy-connection']);

type Mode = 'request' | 'upgrade' | 'connect';

/** One attempt of a routed meshed request: its HTTP/2 stream, response head and endpoint. */
interface Attempt {
  readonly up: ClientHttp2Stream;
  readonly h: IncomingHttpHeaders;
  readonly p: MeshPick;
}

class H1Exchange extends Exchange {
  private readonly o: H1Options;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse | undefined;
  private readonly socket: Duplex | undefined;
  private readonly head: Buffer | undefined;
  private readonly mode: Mode;
  private readonly upstream: MeshUpstream | undefined;
  private readonly ingress: IngressRouter | undefined;

  constructor(entry: TargetEntry, socket0: unknown, o: H1Options, req: IncomingMessage, res: ServerResponse | undefined, socket: Duplex | undefined, head: Buffer | undefined, mode: Mode) {
    const upstream = upstreamOf(socket0);
    const ingress = upstream ? undefined : ingressOf(socket0);
    super(entry, isGrpcContentType(req.headers['content-type']), o.ctx, upstream !== undefined || ingress !== undefined);
    this.upstream = upstream;
    this.ingress = ingress;
    this.o = o;
    this.req = req;
    this.res = res;
    this.socket = socket;
    this.head = head;
    this.mode = mode;
  }

  requestHead(): RequestHead {
    return h1Head(this.req);
  }

  protected override watchBody(w: ExchangeWatcher): void {
    if (this.res) countWrites(this.res, w);
  }

  forward(): void {
    const mesh = this.upstream;
    if (this.ingress) return this.forwardIngress(this.ingress);
    // A policy target routes its requests itself (outbound/policy/http.ts); tunnels take the meshed path.
    if (mesh?.policy && this.mode === 'request') mesh.forwardPolicy(h1Downstream(this, this.req, this.res as ServerResponse, this.o.isDraining));
    else if (mesh) this.forwardMeshed(mesh);
    else if (this.mode === 'request') this.forwardRequest();
    else this.forwardTunnel();
  }

  /** Ingress mode: the upstream named by l5d-dst-override or Host; the original destination without one. */
  private forwardIngress(router: IngressRouter): void {
    const req = this.req;
    const override = removeHeader(req, L5D_DST_OVERRIDE);
    const authority = ingressAuthority(override, req.headers.host);
    // Not meshed after all: counted in the original destination's series, as without ingress mode.
    const plain = () => {
      this.countRequest();
      if (this.mode === 'request') this.forwardRequest();
      else this.forwardTunnel();
    };
    if (authority === undefined) return plain();
    router.lease(authority).then(
      (l) => {
        if (!l) return plain();
        this.onFinish(l.done);
        if (l.upstream.policy && this.mode === 'request') return l.upstream.forwardPolicy(h1Downstream(this, req, this.res as ServerResponse, this.o.isDraining));
        this.forwardMeshed(l.upstream);
      },
      (err: unknown) => this.fail(asProxyError(err, authority)),
    );
  }

  /**
   * Meshed outbound: an endpoint from the balancer; upgradable requests ride its pooled HTTP/2 connection with
   * l5d-orig-proto, the rest (and endpoints without the h2 hint) its pooled HTTP/1 agent (mTLS to its identity).
   */
  private forwardMeshed(mesh: MeshUpstream): void {
    const req = this.req;
    const routes = mesh.routes;
    if (routes.kind === 'profile') this.requestHead().setHeader(L5D_DST_CANONICAL, routes.canonical);
    const facts: H1RequestFacts = { method: req.method ?? 'GET', url: req.url ?? '/', httpVersion: req.httpVersionMinor === 0 ? '1.0' : '1.1', rawHeaders: req.rawHeaders };
    mesh.pick(this).then(
      (p) => {
        const me = p.me;
        const refused = requiredIdentity(req.headers[L5D_REQUIRE_ID], me);
        if (refused) {
          p.done(true);
          return this.fail(refused);
        }
        if (this.mode === 'request' && me.h2 && canUpgrade(facts)) return this.forwardRouted(mesh, facts, p);
        this.onFinish((ex) => p.done(ex.errorLabel === '' && ex.status > 0 && ex.status < 500));
        const to = { host: me.endpoint.ip, port: me.endpoint.port, agent: mesh.agent(me) };
        if (this.mode !== 'request') return this.forwardTunnel(to, p);
        this.forwardRequest(to, p);
      },
      (err: unknown) => this.fail(asProxyError(err, this.entry.target.addr)),
    );
  }

  /**
   * An HTTP/1 request sent as HTTP/2 with l5d-orig-proto, under its profile route: route metrics, the route
   * timeout (504), and retries of failed responses within the budget when the route is retryable and the
   * request has no body. The response goes back as HTTP/1 without l5d-orig-proto.
   */
  private forwardRouted(mesh: MeshUpstream, facts: H1RequestFacts, first: MeshPick): void {
    const req = this.req;
    const res = this.res as ServerResponse;
    const route = mesh.route(facts.method, facts.url);
    const series = mesh.series(route);
    series?.requests.inc();
    if (series) {
      this.onFinish((ex) => {
        const failure = route ? route.isFailure(ex.status, ex.grpcStatus >= 0 ? ex.grpcStatus : undefined) : ex.status >= 500;
        const rs = series.response(ex.status, failure);
        rs.total.inc();
        rs.latency.observe(performance.now() - ex.startedAt);
      });
    }
    // On a retryable route, a body up to 64 KiB is buffered so it can be sent again; larger ones go once.
    const cl = req.headers['content-length'];
    const bodyless = (cl === undefined || cl === '0') && req.headers['transfer-encoding'] === undefined;
    req.on('error', noop);
    // Nothing to retry and no route timeout, on a connection that is up: one stream, sent at once.
    const live = !route?.retryable && !(route && route.timeoutMs > 0) ? first.me.h2?.live() : undefined;
    if (live) return this.sendOnce(live, facts, first, bodyless, route, series);
    const buffering: Promise<BufferedBody | undefined> = !bodyless && route?.retryable ? bufferForRetry(req, cl === undefined ? undefined : Number(cl)) : Promise.resolve(undefined);
    let replayable = bodyless;
    const streams = new Set<ClientHttp2Stream>();
    // The first pick is settled by its attempt; if the exchange ends before that (client gone while the body
    // was buffered), it is released here so the balancer does not count it in flight for ever.
    let firstSent = false;
    this.onFinish(() => {
      if (!firstSent) first.done(false);
    });
    const send = async (attempt: number): Promise<AttemptResult<Attempt>> => {
      if (attempt === 0) firstSent = true;
      const p = attempt === 0 ? first : await mesh.pick();
      try {
        if (!p.me.h2) throw new Error(`endpoint ${p.me.endpoint.addr} has no HTTP/2 connection`);
        const session = await p.me.h2.session();
        series?.actualRequests.inc();
        const up = session.request(upgradeRequest(facts), { endStream: bodyless });
        streams.add(up);
        up.on('error', noop);
        const body = await buffering;
        if (bodyless) {
          // nothing to send
        } else if (body?.replayable) up.end(body.body);
        else if (body) {
          up.write(body.prefix);
          if (body.rest) body.rest.pipe(up);
          else up.end();
        } else req.pipe(up);
        const h = await responseOf(up, p.me.endpoint.addr);
        const status = Number(h[':status']);
        const g = h['grpc-status'];
        const grpcStatus = typeof g === 'string' ? Number(g) : undefined;
        series?.response(status, route ? route.isFailure(status, grpcStatus) : status >= 500).actual.inc();
        return { status, ...(grpcStatus !== undefined ? { grpcStatus } : {}), response: { up, h, p } };
      } catch (err) {
        p.done(false);
        throw err;
      }
    };
    const discard = (a: Attempt) => {
      streams.delete(a.up);
      a.up.close(h2constants.NGHTTP2_CANCEL);
      a.p.done(false);
    };
    const work = buffering.then((body) => {
      if (body?.replayable) replayable = true;
      return sendWithRetries<Attempt>({ route, budget: mesh.budget(), replayable, send, discard, onRetryable: (allowed) => series?.retryable(allowed).inc() });
    });
    res.on('close', () => {
      if (this.finished) return;
      for (const up of streams) if (!up.closed) up.close(h2constants.NGHTTP2_CANCEL);
      this.errorLabel = 'i/o';
      this.finish();
    });
    withRouteTimeout(route, work, () => {
      for (const up of streams) if (!up.closed) up.close(h2constants.NGHTTP2_CANCEL);
    }).then(
      (r) => this.deliverUpgraded(r.response),
      (err: unknown) => this.fail(asProxyError(err, first.me.endpoint.addr)),
    );
  }

  /**
   * forwardRouted's attempt without the retry and timeout machinery: the same stream, metrics and errors, with
   * no promise per step (a meshed request used to take about ten).
   */
  private sendOnce(session: ClientHttp2Session, facts: H1RequestFacts, p: MeshPick, bodyless: boolean, route: CompiledRoute | undefined, series: RouteSeries | undefined): void {
    const addr = p.me.endpoint.addr;
    const res = this.res as ServerResponse;
    series?.actualRequests.inc();
    let up: ClientHttp2Stream;
    try {
      up = session.request(upgradeRequest(facts), { endStream: bodyless });
    } catch (err) {
      p.done(false);
      this.fail(asProxyError(err, addr));
      return;
    }
    up.on('error', noop);
    if (!bodyless) relay(this.req, up, true);
    const failed = (err: Error) => {
      up.removeListener('error', failed);
      up.removeListener('close', reset);
      up.removeListener('response', answered);
      p.done(false);
      this.fail(asProxyError(err, addr));
    };
    const reset = () => failed(Object.assign(new Error(`stream reset by ${addr}`), { code: 'ERR_HTTP2_STREAM_ERROR' }));
    const answered = (h: IncomingHttpHeaders) => {
      up.removeListener('error', failed);
      up.removeListener('close', reset);
      const status = Number(h[':status']);
      const g = h['grpc-status'];
      const grpcStatus = typeof g === 'string' ? Number(g) : undefined;
      series?.response(status, route ? route.isFailure(status, grpcStatus) : status >= 500).actual.inc();
      this.deliverUpgraded({ up, h, p });
    };
    up.once('error', failed);
    up.once('close', reset);
    up.once('response', answered);
    res.on('close', () => {
      if (this.finished) return;
      if (!up.closed) up.close(h2constants.NGHTTP2_CANCEL);
      this.errorLabel = 'i/o';
      this.finish();
    });
  }

  private deliverUpgraded(a: Attempt): void {
    const { up, h, p } = a;
    const res = this.res as ServerResponse;
    this.onFinish((ex) => p.done(ex.errorLabel === '' && ex.status > 0 && ex.status < 500));
    if (this.finished) {
      if (!up.closed) up.close(h2constants.NGHTTP2_CANCEL);
      return;
    }
    this.status = Number(h[':status']);
    const g = h['grpc-status'];
    if (typeof g === 'string') this.grpcStatus = Number(g);
    const out: OutgoingHttpHeaders = {};
    for (const name in h) {
      const value = h[name];
      if (value === undefined || name.charCodeAt(0) === 0x3a || name === L5D_ORIG_PROTO || OUTBOUND_RESPONSE_DROP.has(name)) continue;
      out[name] = value;
    }
    if (this.o.isDraining()) res.shouldKeepAlive = false;
    res.writeHead(this.status, out);
    up.once('data', () => {
      this.firstByte();
      p.firstByte();
    });
    relay(up, res, false);
    up.on('end', () => {
      res.end();
      this.finish();
    });
    up.on('close', () => {
      if (this.finished) return;
      this.errorLabel = 'i/o';
      res.destroy();
      this.finish();
    });
  }

  private requestArgs(filtered: string[], pooled: boolean): PoolRequestArgs {
    const t = this.entry.target;
    const headers = this.o.ctx.clientIdHeader ? applyClientIdRaw(filtered, this.entry.clientId) : filtered;
    return {
      host: t.ip,
      port: t.port,
      method: this.req.method,
      path: this.req.url,
      headers: headers as unknown as PoolRequestArgs['headers'], // raw arrays are accepted by http.request
      setHost: false,
      agent: pooled ? this.o.pools.keepAlive : this.o.pools.oneShot,
      trellisTarget: this.entry,
    };
  }

  /** `to`: a meshed endpoint and its agent instead of the original destination. */
  private forwardRequest(to?: Partial<PoolRequestArgs>, p?: MeshPick): void {
    const req = this.req;
    const res = this.res as ServerResponse;
    // HTTP/1.0 and requests without a Host use a throwaway connection, as Linkerd does.
    const pooled = req.httpVersionMinor === 1 && req.httpVersionMajor === 1 && !!req.headers.host;
    if (pooled && to === undefined && httpParser) {
      const framing = leanFraming(req);
      if (framing !== undefined) return this.forwardLean(framing);
    }
    const up = request({ ...this.requestArgs(filterHopByHop(req.rawHeaders, { keepTransferEncoding: true }), pooled), ...to });
    up.on('continue', () => res.writeContinue());
    up.on('error', (err) => {
      if (this.finished) return;
      if (!res.headersSent) this.fail(asProxyError(err, this.entry.target.addr));
      else {
        this.errorLabel = 'i/o';
        res.destroy();
        this.finish();
      }
    });
    up.on('response', (ur) => {
      p?.firstByte();
      this.status = ur.statusCode ?? 0;
      const g = ur.headers['grpc-status'];
      if (typeof g === 'string') this.grpcStatus = Number(g);
      const drop = this.entry.target.direction === 'outbound' ? OUTBOUND_RESPONSE_DROP : undefined;
      if (this.o.isDraining()) res.shouldKeepAlive = false;
      res.writeHead(this.status, ur.statusMessage, filterHopByHop(ur.rawHeaders, { keepTransferEncoding: true, drop }));
      ur.on('error', noop);
      ur.once('data', () => this.firstByte());
      ur.pipe(res, { end: false });
      ur.on('end', () => {
        if (ur.rawTrailers.length > 0) {
          const gs = rawHeader(ur.rawTrailers, 'grpc-status');
          if (gs !== undefined) this.grpcStatus = Number(gs);
          res.addTrailers(pairs(ur.rawTrailers));
        }
        res.end();
        this.finish();
      });
      ur.on('close', () => {
        if (ur.complete || this.finished) return;
        // The server closed mid-response: the client sees the connection cut, not a truncated success.
        this.errorLabel = 'i/o';
        res.destroy();
        this.finish();
      });
    });
    res.on('close', () => {
      if (this.finished) return;
      // The client went away (or closed mid-body): stop the upstream request too.
      up.destroy();
      this.errorLabel = 'i/o';
      this.finish();
    });
    req.on('error', noop);
    req.pipe(up);
  }

  /**
   * The common request (keep-alive, body framed by Content-Length or chunked, no Expect) through the lean
   * client: what forwardRequest does, without ClientRequest and the Agent.
   */
  private forwardLean(framing: Framing): void {
    const req = this.req;
    const res = this.res as ServerResponse;
    const addr = this.entry.target.addr;
    const filtered = filterHopByHop(req.rawHeaders, { keepTransferEncoding: true });
    const headers = this.o.ctx.clientIdHeader ? applyClientIdRaw(filtered, this.entry.clientId) : filtered;
    const drop = this.entry.target.direction === 'outbound' ? OUTBOUND_RESPONSE_DROP : undefined;
    const call: H1Call = this.o.pools.lean.request(this.entry, requestHead(req.method ?? 'GET', req.url ?? '/', headers), framing, req.method === 'HEAD', {
      head: (status, message, raw) => {
        this.status = status;
        const g = rawHeader(raw, 'grpc-status');
        if (g !== undefined) this.grpcStatus = Number(g);
        if (this.o.isDraining()) res.shouldKeepAlive = false;
        res.writeHead(status, message, filterHopByHop(raw, { keepTransferEncoding: true, drop }));
      },
      body: (chunk) => {
        this.firstByte();
        if (res.write(chunk)) return true;
        res.once('drain', () => call.resume());
        return false;
      },
      end: (trailers) => {
        if (trailers.length > 0) {
          const gs = rawHeader(trailers, 'grpc-status');
          if (gs !== undefined) this.grpcStatus = Number(gs);
          res.addTrailers(pairs(trailers));
        }
        res.end();
        this.finish();
      },
      error: (err, responded) => {
        if (this.finished) return;
        if (!responded) return this.fail(asProxyError(err, addr));
        // The server closed mid-response: the client sees the connection cut, not a truncated success.
        this.errorLabel = 'i/o';
        res.destroy();
        this.finish();
      },
    });
    res.on('close', () => {
      if (this.finished) return;
      // The client went away (or closed mid-body): stop the upstream request too.
      call.abort();
      this.errorLabel = 'i/o';
      this.finish();
    });
    req.on('error', noop);
    if (framing === 'none') {
      call.end();
      req.resume();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      if (call.write(chunk)) return;
      req.pause();
      call.onDrain(() => req.resume());
    });
    req.on('end', () => call.end());
    // A body cut short, even after the response: the upstream connection is in an unknown state.
    req.on('close', () => {
      if (!req.complete) call.abort();
    });
  }

  /** Upgrade and CONNECT: ask the upstream, and splice the two sockets once it agrees. */
  private forwardTunnel(to?: Partial<PoolRequestArgs>, p?: MeshPick): void {
    const socket = this.socket as Socket;
    const upgrade = this.mode === 'upgrade';
    // Meshed: a tunnel takes its connection out of the pool for good, so it gets a fresh one from the agent.
    const up = request({ ...this.requestArgs(filterHopByHop(this.req.rawHeaders, { upgrade }), false), ...to });
    p?.firstByte();
    const tunnel = (ur: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      this.status = ur.statusCode ?? 0;
      const ok = upgrade ? this.status === 101 : this.status >= 200 && this.status < 300;
      if (!ok) {
        socket.end(responseHead(this.status, ur.statusMessage ?? '', [...filterHopByHop(ur.rawHeaders), 'Connection', 'close']));
        upSocket.destroy();
        this.finish();
        return;
      }
      socket.write(responseHead(this.status, ur.statusMessage ?? '', filterHopByHop(ur.rawHeaders, { upgrade, dropContentLength: !upgrade })));
      if (upHead.length > 0) socket.write(upHead);
      if (this.head && this.head.length > 0) upSocket.write(this.head);
      this.firstByte();
      this.finish();
      splice(socket, upSocket);
    };
    up.on(upgrade ? 'upgrade' : 'connect', tunnel);
    up.on('response', (ur) => {
      // The upstream answered without switching: relay that answer and close.
      this.status = ur.statusCode ?? 0;
      socket.write(responseHead(this.status, ur.statusMessage ?? '', [...filterHopByHop(ur.rawHeaders), 'Connection', 'close']));
      ur.pipe(socket);
      ur.on('end', () => this.finish());
    });
    up.on('error', (err) => this.fail(asProxyError(err, this.entry.target.addr)));
    socket.on('error', () => up.destroy());
    up.end();
  }

  protected respondError(err: ProxyError): void {
    const s = synthesize(err, this.grpc, this.o.ctx.respond, this.entry.clientId !== undefined);
    this.status = s.status;
    if (this.grpc) this.grpcStatus = err.grpcStatus;
    if (this.res) {
      const res = this.res;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (s.close) res.shouldKeepAlive = false;
      res.writeHead(s.status, s.headers);
      res.end();
      return;
    }
    const raw = Object.entries(s.headers).flat();
    this.socket?.end(responseHead(s.status, statusText(s.status), [...raw, 'Connection', 'close']));
  }
}

/**
 * The response head of an upstream HTTP/2 stream, or a rejection when it fails or closes first. The listeners
 * go once the head is in: every stream closes when it is done, and an Error (with its stack) built on each of
 * those closes cost ~5 % of a meshed proxy's CPU.
 */
function responseOf(up: ClientHttp2Stream, addr: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const onClose = () => reject(Object.assign(new Error(`stream reset by ${addr}`), { code: 'ERR_HTTP2_STREAM_ERROR' }));
    up.once('error', reject);
    up.once('close', onClose);
    up.once('response', (h: IncomingHttpHeaders) => {
      up.removeListener('error', reject);
      up.removeListener('close', onClose);
      resolve(h);
    });
  });
}

/** Methods node:http sends without a body (and without framing headers) when the request has none. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * How the lean client frames a request's body, or undefined when the request needs node:http's ClientRequest
 * (Expect: 100-continue, a transfer coding other than chunked, a body-less POST that node frames as chunked).
 */
export function leanFraming(req: IncomingMessage): Framing | undefined {
  const h = req.headers;
  if (h.expect !== undefined) return undefined;
  const te = h['transfer-encoding'];
  const cl = h['content-length'];
  if (te !== undefined) return cl === undefined && te.trim().toLowerCase() === 'chunked' ? 'chunked' : undefined;
  if (cl !== undefined) return cl === '0' ? 'none' : 'length';
  return BODYLESS_METHODS.has(req.method ?? '') ? 'none' : undefined;
}

/**
 * What `from.pipe(to)` does on this path (data with back-pressure, and the end when `end`), without pipe's
 * half-dozen listeners on each side added and removed per request; errors and closes are handled by the caller.
 */
function relay(from: Readable, to: Writable, end: boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (to.write(chunk)) return;
    from.pause();
    to.once('drain', () => from.resume());
  });
  if (end) from.once('end', () => to.end());
}

/** Removes a request header (from the parsed and the raw headers) and returns its first value. */
function removeHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  delete req.headers[name];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) if ((raw[i] as string).toLowerCase() === name) raw.splice(i, 2);
  return Array.isArray(v) ? v[0] : v;
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}

function statusText(status: number): string {
  return { 403: 'Forbidden', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' }[status] ?? 'Error';
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

/** Status for a request the server could not parse (the upstream never sees it). */
export function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

export function createH1Server(o: H1Options): Server {
  const server = createServer({
    // Linkerd has no header limit below hyper's; 64 KiB admits real clients and still answers 431 to floods.
    maxHeaderSize: 64 * 1024,
    headersTimeout: o.headerReadTimeoutMs,
    requestTimeout: 0,
    // Linkerd forwards HTTP/1.1 requests without a Host (over a throwaway connection) rather than refusing them.
    requireHostHeader: false,
    keepAliveTimeout: 0,
    connectionsCheckingInterval: Math.max(250, Math.min(o.headerReadTimeoutMs / 4, 30_000)),
    // Upgrade: h2c is refused: the request goes on as a plain one with Upgrade stripped.
    shouldUpgradeCallback: (req) => {
      const u = req.headers.upgrade;
      return u !== undefined && !/^\s*h2c\s*$/i.test(u);
    },
  });
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const entry = targetOf(req.socket);
    if (!entry) return res.destroy();
    o.handler(new H1Exchange(entry, req.socket, o, req, res, undefined, undefined, 'request'));
  };
  server.on('request', onRequest);
  server.on('checkContinue', onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const entry = targetOf(socket);
    if (!entry) return socket.destroy();
    o.handler(new H1Exchange(entry, socket, o, req, undefined, socket, head, 'upgrade'));
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const entry = targetOf(socket);
    if (!entry) return socket.destroy();
    o.handler(new H1Exchange(entry, socket, o, req, undefined, socket, head, 'connect'));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || responseStarted(socket)) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(err.code);
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  // A client that half-closes after its request still gets the response; the connection closes after it.
  allowHalfOpen(server);
  // Node starts header-timeout tracking when a server starts listening; this one is fed connections instead.
  server.emit('listening');
  // The common request takes the lean path (http/h1-lean-server.ts); node:http serves the rest, and all of it on a Node
  // without the parser the lean path uses.
  if (httpParser) leanFront(server, o, Math.max(250, Math.min(o.headerReadTimeoutMs / 4, 30_000)));
  return server;
}
