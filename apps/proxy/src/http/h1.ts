// HTTP/1.1: a node:http server fed with detected connections, and a forwarder that streams requests to the
// original destination through the keep-alive pool. Upgrade (WebSocket) and CONNECT are tunnelled after the
// upstream agrees; malformed requests get 400/408/431 from the server and never reach the upstream.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request } from './node-http.ts';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { asProxyError, type ProxyError } from '../errors.ts';
import { splice } from '../tcp/forward.ts';
import type { TargetEntry } from '../tcp/targets.ts';
import { applyClientIdRaw } from '../tls/client-id.ts';
import { h1Downstream } from './downstream.ts';
import { countWrites, Exchange, type Downstream, type ExchangeWatcher, type ForwardTo, type RequestHead } from './exchange.ts';
import { filterHopByHop, rawHeader, responseHead } from './headers.ts';
import { requestHead, type Framing, type H1Call } from './h1-lean-client.ts';
import { leanFront, type H1Options } from './h1-lean-server.ts';
import { routerOf, targetOf } from './connection.ts';
import { allowHalfOpen, httpParser, responseStarted } from '../node-internals.ts';
import type { PoolRequestArgs } from './pool.ts';
import { h1Head } from './request-head.ts';
import { isGrpcContentType, synthesize } from './respond.ts';

/** Headers a client proxy strips from upstream responses (Linkerd's outbound does the same). */
const OUTBOUND_RESPONSE_DROP = new Set(['l5d-proxy-error', 'l5d-proxy-connection']);

type Mode = 'request' | 'upgrade' | 'connect';

class H1Exchange extends Exchange {
  private readonly o: H1Options;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse | undefined;
  private readonly socket: Duplex | undefined;
  private readonly head: Buffer | undefined;
  private readonly mode: Mode;

  constructor(entry: TargetEntry, socket0: unknown, o: H1Options, req: IncomingMessage, res: ServerResponse | undefined, socket: Duplex | undefined, head: Buffer | undefined, mode: Mode) {
    super(entry, isGrpcContentType(req.headers['content-type']), o.ctx, routerOf(socket0));
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

  override header(name: string): string | string[] | undefined {
    return this.req.headers[name];
  }

  protected override watchBody(w: ExchangeWatcher): void {
    if (this.res) countWrites(this.res, w);
  }

  downstream(): Downstream | undefined {
    return this.mode === 'request' ? h1Downstream(this, this.req, this.res as ServerResponse, this.o.isDraining) : undefined;
  }

  /** To the original destination, or (`to`) a tunnel to a picked endpoint over its agent. */
  forward(to?: ForwardTo): void {
    if (this.mode !== 'request') return this.forwardTunnel(to);
    this.forwardRequest();
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

  private forwardRequest(): void {
    const req = this.req;
    const res = this.res as ServerResponse;
    // HTTP/1.0 and requests without a Host use a throwaway connection, as Linkerd does.
    const pooled = req.httpVersionMinor === 1 && req.httpVersionMajor === 1 && !!req.headers.host;
    if (pooled && httpParser) {
      const framing = leanFraming(req);
      if (framing !== undefined) return this.forwardLean(framing);
    }
    const up = request(this.requestArgs(filterHopByHop(req.rawHeaders, { keepTransferEncoding: true }), pooled));
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
  private forwardTunnel(to?: ForwardTo): void {
    const socket = this.socket as Socket;
    const upgrade = this.mode === 'upgrade';
    // Meshed: a tunnel takes its connection out of the pool for good, so it gets a fresh one from the agent.
    const args = this.requestArgs(filterHopByHop(this.req.rawHeaders, { upgrade }), false);
    const up = request(to ? { ...args, host: to.host, port: to.port, agent: to.agent } : args);
    to?.firstByte();
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
