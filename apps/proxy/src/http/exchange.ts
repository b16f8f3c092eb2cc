// One HTTP request/response as the layers see it, whatever the protocol. Layers are `(next) => handler`
// functions; the terminal handler hands the exchange to its connection's router (the outbound route stage), or
// forwards it to the original destination (Exchange.forward, implemented per protocol).
import type { Agent } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import type { ProxyError } from '../errors.ts';
import type { EndpointMetrics, ProxyMetrics } from '../metrics/proxy-metrics.ts';
import type { TargetEntry } from '../tcp/targets.ts';
import type { RespondContext } from './respond.ts';

export interface HttpContext {
  readonly metrics: ProxyMetrics;
  readonly respond: RespondContext;
  readonly connectTimeoutMs: number;
  /** Meshed inbound: set l5d-client-id from the verified client identity and strip any value a client sent. */
  readonly clientIdHeader?: boolean;
}

type Finisher = (ex: Exchange) => void;

/** The endpoint a meshed outbound request was sent to, as a tap reports it. */
export interface PickedEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly identity: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * What an open tap learns of a request it watches (tap/layer.ts): the response's start (its status set), the
 * endpoint picked, and response body bytes where the protocol counts them. Absent while nobody taps.
 */
export interface ExchangeWatcher {
  responseStarted(ex: Exchange): void;
  endpointPicked(ex: Exchange, endpoint: PickedEndpoint): void;
  bodyBytes(n: number): void;
}

/** A request as inbound policy reads and edits it (route matching, authorization, header filters). */
export interface RequestHead {
  readonly method: string;
  /** Origin-form path with its query, or an absolute-form URL. */
  readonly target: string;
  /** Lower-case names; HTTP/2 requests also carry `:authority`. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The accepted connection the request came on (the socket the HTTP server was given). */
  readonly connection: object | undefined;
  /** Header changes for what is forwarded: add a value, replace all values, or remove all. */
  addHeader(name: string, value: string): void;
  setHeader(name: string, value: string): void;
  removeHeader(name: string): void;
}

export type Headers = Record<string, string | string[]>;

/** The client's side of a request as the outbound route stages read and answer it (http/downstream.ts builds it). */
export interface Downstream {
  readonly ex: Exchange;
  readonly method: string;
  /** The request target as received (origin-form path, or absolute-form URL for HTTP/1). */
  readonly target: string;
  readonly path: string;
  readonly authority: string | undefined;
  readonly scheme: string;
  /** HTTP/1 clients: the version and whether the target was absolute-form; undefined for HTTP/2. */
  readonly h1: { readonly version: '1.0' | '1.1'; readonly absolute: boolean } | undefined;
  /** Lower-case names, no pseudo-headers, no hop-by-hop headers. */
  readonly headers: Headers;
  /** undefined: no body. */
  readonly body: Readable | undefined;
  readonly declaredLength: number | undefined;
  readonly headersSent: boolean;
  /** Sends the response head; the returned sink takes the body (absent when `end` is true). */
  head(status: number, headers: Headers, end: boolean): Writable | undefined;
  /** Ends the response with optional trailers. */
  end(trailers: IncomingHttpHeaders | undefined): void;
  /** Cuts a response that already began: HTTP/2 resets with `code` (an upstream's reset passed on), HTTP/1 closes. */
  abort(code?: number): void;
  /** Runs `f` when the client goes away before the exchange finished. */
  onGone(f: () => void): void;
}

/** Where a codec sends a request it relays itself (an HTTP/1 Upgrade or CONNECT): a picked endpoint's agent. */
export interface ForwardTo {
  readonly host: string;
  readonly port: number;
  readonly agent: Agent;
  firstByte(): void;
}

/** What the accept path attached to a connection to route its requests (outbound: a meshed target, ingress). */
export interface ConnRouter {
  route(ex: Exchange): void;
}

export abstract class Exchange {
  readonly startedAt = performance.now();
  #status = 0;
  /** Response status (0 until known), gRPC status (-1 when none) and Linkerd's `error` label. */
  get status(): number {
    return this.#status;
  }
  set status(s: number) {
    this.#status = s;
    if (this.watcher !== undefined) this.watcher.responseStarted(this);
  }
  grpcStatus = -1;
  errorLabel = '';
  firstByteAt = 0;
  finished = false;
  private finishers: Finisher[] | undefined;

  readonly entry: TargetEntry;
  readonly grpc: boolean;
  readonly ctx: HttpContext;
  /**
   * The endpoint series the exchange is counted in: its target's, or, on the meshed outbound path, those of the
   * endpoint the balancer picked (atEndpoint), so they carry that endpoint's address and TLS labels.
   */
  endpointMetrics: EndpointMetrics;
  /** Whether request_total has been counted (the meshed outbound path counts it once an endpoint is picked). */
  requestCounted = false;

  /** Routes the request (outbound: meshed target or ingress); undefined: forwarded to the original destination. */
  readonly router: ConnRouter | undefined;
  /** Meshed outbound: the request is counted once the balancer picks its endpoint (atEndpoint), not at the start. */
  readonly meshed: boolean;

  /** An open tap watching this request; undefined while nobody taps (tap/layer.ts sets it). */
  watcher: ExchangeWatcher | undefined = undefined;
  /** The first endpoint the balancer picked (meshed outbound); its identity names the peer in the hop's span. */
  pickedEndpoint: PickedEndpoint | undefined = undefined;

  constructor(entry: TargetEntry, grpc: boolean, ctx: HttpContext, router?: ConnRouter) {
    this.entry = entry;
    this.router = router;
    this.meshed = router !== undefined;
    this.grpc = grpc;
    this.ctx = ctx;
    this.endpointMetrics = entry.endpoint;
  }

  /** Counts request_total in the current endpoint series, once. */
  countRequest(): void {
    if (this.requestCounted) return;
    this.requestCounted = true;
    this.endpointMetrics.requests.inc();
  }

  /** The balancer picked an endpoint: the exchange is counted in its series (the first pick's, across retries). */
  atEndpoint(m: EndpointMetrics, endpoint?: PickedEndpoint): void {
    if (endpoint !== undefined) {
      this.pickedEndpoint ??= endpoint;
      if (this.watcher !== undefined) this.watcher.endpointPicked(this, endpoint);
    }
    if (this.requestCounted) return;
    this.endpointMetrics = m;
    this.countRequest();
  }

  /** Runs `f` once when the exchange ends (response complete, reset or failed). */
  onFinish(f: Finisher): void {
    (this.finishers ??= []).push(f);
  }

  firstByte(): void {
    if (this.firstByteAt === 0) this.firstByteAt = performance.now();
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.finishers) for (const f of this.finishers) f(this);
  }

  /** Counts the error and answers with a synthesized response, or resets when a response already began. */
  fail(err: ProxyError): void {
    if (this.finished) return;
    // An empty label: policy answering as configured (a redirect, a route not found), not a proxy error.
    if (err.errorLabel !== '') this.ctx.metrics.error(this.entry.target.direction, 'http', err.errorLabel, err.code);
    this.respondError(err);
    this.finish();
  }

  /** An open tap watches this request from now on; protocols that can count response body bytes report them. */
  watch(w: ExchangeWatcher): void {
    this.watcher = w;
    this.watchBody(w);
  }

  protected watchBody(_w: ExchangeWatcher): void {
    // A protocol whose response body the tap cannot count reports no bytes.
  }

  /** Sends the request to the original destination, or (`to`) relays an HTTP/1 tunnel to a picked endpoint. */
  abstract forward(to?: ForwardTo): void;
  /** The client's side for the route stages; undefined for a request the codec relays itself (a tunnel). */
  abstract downstream(): Downstream | undefined;
  /** The request's head, for layers that route or authorize it before it is forwarded. */
  abstract requestHead(): RequestHead;
  /**
   * One request header (lower-case name) as received. The protocols read it without building a header object, so
   * a per-request check (the tracing stage's) costs no allocation; this fallback goes through the request head.
   */
  header(name: string): string | string[] | undefined {
    return this.requestHead().headers[name];
  }
  protected abstract respondError(err: ProxyError): void;
}

/** Reports the bytes written to a response body (`write` and `end` with a chunk) to `w`; for tapped requests only. */
export function countWrites(body: { write: (...a: never[]) => boolean; end: (...a: never[]) => unknown }, w: ExchangeWatcher): void {
  const size = (c: unknown) => (typeof c === 'string' ? Buffer.byteLength(c) : c instanceof Uint8Array ? c.byteLength : 0);
  const write = body.write as (...a: unknown[]) => boolean;
  const end = body.end as (...a: unknown[]) => unknown;
  body.write = function (this: unknown, ...a: unknown[]) {
    w.bodyBytes(size(a[0]));
    return write.apply(this, a);
  } as typeof body.write;
  body.end = function (this: unknown, ...a: unknown[]) {
    if (typeof a[0] !== 'function') w.bodyBytes(size(a[0]));
    return end.apply(this, a);
  } as typeof body.end;
}

export type HttpHandler = (ex: Exchange) => void;
export type HttpLayer = (next: HttpHandler) => HttpHandler;

/** compose(a, b)(h) = a(b(h)): the first layer sees the exchange first. */
export function compose(...layers: readonly HttpLayer[]): (terminal: HttpHandler) => HttpHandler {
  return (terminal) => layers.reduceRight<HttpHandler>((h, layer) => layer(h), terminal);
}

export const forwardExchange: HttpHandler = (ex) => (ex.router ? ex.router.route(ex) : ex.forward());
