// One HTTP request/response as the layers see it, whatever the protocol. Layers are `(next) => handler`
// functions; the terminal handler forwards (Exchange.forward, implemented per protocol).
import { performance } from 'node:perf_hooks';
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

export abstract class Exchange {
  readonly startedAt = performance.now();
  /** Response status (0 until known), gRPC status (-1 when none) and Linkerd's `error` label. */
  status = 0;
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

  /** Meshed outbound: the request is counted once the balancer picks its endpoint (atEndpoint), not at the start. */
  readonly meshed: boolean;

  constructor(entry: TargetEntry, grpc: boolean, ctx: HttpContext, meshed = false) {
    this.entry = entry;
    this.meshed = meshed;
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
  atEndpoint(m: EndpointMetrics): void {
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

  /** Sends the request on and the response back. */
  abstract forward(): void;
  /** The request's head, for layers that route or authorize it before it is forwarded. */
  abstract requestHead(): RequestHead;
  protected abstract respondError(err: ProxyError): void;
}

export type HttpHandler = (ex: Exchange) => void;
export type HttpLayer = (next: HttpHandler) => HttpHandler;

/** compose(a, b)(h) = a(b(h)): the first layer sees the exchange first. */
export function compose(...layers: readonly HttpLayer[]): (terminal: HttpHandler) => HttpHandler {
  return (terminal) => layers.reduceRight<HttpHandler>((h, layer) => layer(h), terminal);
}

export const forwardExchange: HttpHandler = (ex) => ex.forward();
