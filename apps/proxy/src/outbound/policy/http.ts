// An HTTP request to a policy target (docs/reference/linkerd-proxy.md §4, §5; docs/reference/linkerd-contracts.md §1.7, §1.10): the most specific rule of
// the policy's routes (404 when none), its filters in order (failure injector by ratio, request and response
// header modifiers, redirect), its timeouts (request: the whole exchange; response: from the end of the request
// to the end of the response; idle: nothing moved for that long; each a non-fatal 504), then a backend from its distribution, that backend's
// filters, an endpoint from its balancer (queue, failfast 504, shed 503, failure accrual), and the attempt itself
// over the endpoint's pooled connection. With a retry policy the body (up to max_request_bytes) is kept so an
// attempt whose status (or gRPC code) the conditions name, whose per-try timeout fired, or that failed fast, is
// sent again after an exponential, jittered backoff, up to max_retries. l5d-retry-* and l5d-*timeout headers
// override all that when the rule allows them, and are removed then.
import { request as h1Request, type IncomingMessage, type OutgoingHttpHeaders as H1Headers, type ServerResponse } from 'node:http';
import { constants, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Readable, Writable } from 'node:stream';
import { parseDuration } from '@trellis/config';
import { FailFastError } from '../../balance/errors.ts';
import type { Balancer } from '../../balance/p2c.ts';
import { Backoff } from '../../discovery/backoff.ts';
import type { MeshEndpoint } from '../../discovery/outbound.ts';
import { asProxyError, ConnectError, ConnectTimeoutError, ProxyError } from '../../errors.ts';
import type { Exchange } from '../../http/exchange.ts';
import type { EndpointClient, MeshPick } from '../endpoint-client.ts';
import { bufferForRetry, type BufferedBody } from '../../profiles/retry.ts';
import { defaultIsFailure } from '../../profiles/routes.ts';
import { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_RETRY_BACKOFF, type Filter, type RetrySpec } from './compile.ts';
import { redirectLocation, type HeaderModifier } from '../../policy/route-filters.ts';
import { NoBackendsError, PolicyTimeoutError } from './errors.ts';
import { InjectedFailureError, InvalidRedirectError, RouteNotFoundError } from '../../policy/route-errors.ts';
import type { RouteObserver } from './metrics.ts';
import type { BoundBackend, BoundRule, PolicyTarget } from './target.ts';
import { requestFacts } from '../../policy/match.ts';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM, HTTP2_FLAG_END_STREAM } = constants as unknown as Record<string, number>;
const END_STREAM = HTTP2_FLAG_END_STREAM ?? 0x1;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host']);
/** Response headers a client proxy drops (it made them, or they are for it). */
const RESPONSE_DROP = new Set([...HOP_BY_HOP, 'l5d-orig-proto', 'l5d-proxy-error', 'l5d-proxy-connection']);
const L5D_REQUEST_HEADERS = ['l5d-retry-http', 'l5d-retry-grpc', 'l5d-retry-limit', 'l5d-retry-timeout', 'l5d-timeout', 'l5d-request-timeout', 'l5d-response-timeout'];

type Headers = Record<string, string | string[]>;

/** The client's side of the exchange, HTTP/1 or HTTP/2 (built by h1Downstream / h2Downstream). */
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
  /** Cuts a response that already began (reset / close). */
  abort(): void;
  /** Runs `f` when the client goes away before the exchange finished. */
  onGone(f: () => void): void;
}

function headerValue(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function applyModifier(h: Headers, m: HeaderModifier): void {
  for (const [name, value] of m.add) {
    const prev = h[name];
    h[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  for (const [name, value] of m.set) h[name] = value;
  for (const name of m.remove) delete h[name];
}

/** The Location of a redirect: unset parts keep the request's. */
/** Retry conditions from the l5d-retry-http header: "5xx", "gateway-error", "500", "500-504", comma-separated. */
function parseStatusRanges(v: string): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const part of v.split(',')) {
    const t = part.trim().toLowerCase();
    if (!t) continue;
    if (t === '5xx') out.push([500, 599]);
    else if (t === 'gateway-error') out.push([502, 504]);
    else {
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(t);
      if (!m) return undefined;
      out.push([Number(m[1]), Number(m[2] ?? m[1])]);
    }
  }
  return out;
}

const GRPC_CODE_NAMES: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };

function parseGrpcCodes(v: string): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of v.split(',')) {
    const t = part.trim().toLowerCase();
    if (!t) continue;
    const c = GRPC_CODE_NAMES[t];
    if (c === undefined) return undefined;
    out.add(c);
  }
  return out;
}

function durationHeader(h: Headers, name: string): number | undefined {
  const v = headerValue(h, name);
  if (v === undefined) return undefined;
  try {
    return parseDuration(name, v);
  } catch {
    return undefined;
  }
}

interface Effective {
  retry: RetrySpec | undefined;
  requestMs: number;
  responseMs: number;
  idleMs: number;
}

/** The rule's timeouts and retry policy, overridden by the l5d-* request headers when the rule allows them. */
function effective(rule: BoundRule, h: Headers, grpc: boolean): Effective {
  const spec = rule.spec;
  const e: Effective = { retry: spec.retry, requestMs: spec.timeouts.requestMs, responseMs: spec.timeouts.responseMs, idleMs: spec.timeouts.idleMs };
  if (!spec.allowL5dHeaders) return e;
  const base: RetrySpec = spec.retry ?? { maxRetries: 1, maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, statusRanges: [], grpcCodes: new Set(), timeoutMs: 0, backoff: DEFAULT_RETRY_BACKOFF };
  let retry: RetrySpec | undefined = spec.retry;
  const http = headerValue(h, 'l5d-retry-http');
  const grpcCodes = headerValue(h, 'l5d-retry-grpc');
  const limit = headerValue(h, 'l5d-retry-limit');
  const perTry = durationHeader(h, 'l5d-retry-timeout');
  if (!grpc && http !== undefined) {
    const ranges = parseStatusRanges(http);
    if (ranges) retry = { ...(retry ?? base), statusRanges: ranges };
  }
  if (grpc && grpcCodes !== undefined) {
    const codes = parseGrpcCodes(grpcCodes);
    if (codes) retry = { ...(retry ?? base), grpcCodes: codes };
  }
  if (limit !== undefined && /^\d+$/.test(limit.trim())) retry = { ...(retry ?? base), maxRetries: Number(limit) };
  if (perTry !== undefined) retry = { ...(retry ?? base), timeoutMs: perTry };
  e.retry = retry;
  e.requestMs = durationHeader(h, 'l5d-request-timeout') ?? durationHeader(h, 'l5d-timeout') ?? e.requestMs;
  e.responseMs = durationHeader(h, 'l5d-response-timeout') ?? e.responseMs;
  for (const name of L5D_REQUEST_HEADERS) delete h[name];
  return e;
}

function retryableStatus(r: RetrySpec, status: number, grpcStatus: number | undefined, grpc: boolean): boolean {
  if (grpc) return grpcStatus !== undefined && r.grpcCodes.has(grpcStatus);
  return r.statusRanges.some(([a, b]) => status >= a && status <= b);
}

function backoffMs(r: RetrySpec, retry: number, random: () => number): number {
  const { minMs, maxMs, jitter } = r.backoff;
  const base = Math.min(maxMs, minMs * 2 ** retry);
  return Math.min(maxMs, base + base * jitter * random());
}

/** One upstream response, whatever carried it. */
interface UpResponse {
  readonly status: number;
  readonly grpcStatus: number | undefined;
  readonly headers: Headers;
  readonly body: Readable;
  /** The response had no body (HTTP/2 END_STREAM on its headers). */
  readonly ended: boolean;
  trailers(): IncomingHttpHeaders | undefined;
  cancel(): void;
}

type Body = { readonly kind: 'none' } | { readonly kind: 'buffer'; readonly data: Buffer } | { readonly kind: 'stream'; readonly prefix: Buffer; readonly rest: Readable | undefined };

interface OutRequest {
  readonly d: Downstream;
  readonly headers: Headers;
  /** Set as soon as the upstream request exists: cancels it (a timeout, the client gone, a retry). */
  readonly ctl: { cancel: () => void };
}

function cleanResponse(h: IncomingHttpHeaders): Headers {
  const out: Headers = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || name.startsWith(':') || RESPONSE_DROP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function grpcOf(h: IncomingHttpHeaders | Headers): number | undefined {
  const g = h['grpc-status'];
  const v = Array.isArray(g) ? g[0] : g;
  return typeof v === 'string' ? Number(v) : undefined;
}

function sendBody(up: Writable, body: Body): void {
  if (body.kind === 'none') return;
  if (body.kind === 'buffer') {
    up.end(body.data);
    return;
  }
  if (body.prefix.length > 0) up.write(body.prefix);
  if (body.rest) body.rest.pipe(up);
  else up.end();
}

/** Sends one attempt to a picked endpoint: its pooled HTTP/2 connection (HTTP/1 upgraded with l5d-orig-proto), else HTTP/1 or HTTP/2 as the client spoke. */
async function sendAttempt(mesh: EndpointClient, p: MeshPick, r: OutRequest, body: Body, onRequestEnd: () => void): Promise<UpResponse> {
  const d = r.d;
  const me = p.me;
  if (d.h1 && !me.h2) {
    const e = me.endpoint;
    const headers: H1Headers = { ...r.headers };
    if (d.authority !== undefined) headers['host'] = d.authority;
    const up = h1Request({ host: e.ip, port: e.port, method: d.method, path: d.target, headers, setHost: false, agent: mesh.agent(me) });
    up.on('error', noop);
    r.ctl.cancel = () => up.destroy();
    up.once('finish', onRequestEnd);
    if (body.kind === 'none') up.end();
    else sendBody(up, body);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      up.once('response', resolve);
      up.once('error', reject);
    });
    res.on('error', noop);
    const headersOut = cleanResponse(res.headers);
    return {
      status: res.statusCode ?? 0,
      grpcStatus: grpcOf(res.headers),
      headers: headersOut,
      body: res,
      ended: false,
      trailers: () => (Object.keys(res.trailers).length > 0 ? res.trailers : undefined),
      cancel: () => up.destroy(),
    };
  }
  const session = d.h1 && me.h2 ? await me.h2.session() : await mesh.h2Session(me);
  const h: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(r.headers)) {
    if (name === 'te' && String(value).trim().toLowerCase() !== 'trailers') continue;
    h[name] = value;
  }
  h[':method'] = d.method;
  h[':scheme'] = d.scheme;
  h[':path'] = d.path;
  if (d.authority !== undefined) h[':authority'] = d.authority;
  if (d.h1) h['l5d-orig-proto'] = `HTTP/${d.h1.version}${d.h1.absolute ? '; absolute-form' : ''}`;
  const up: ClientHttp2Stream = session.request(h, { endStream: body.kind === 'none' });
  up.on('error', noop);
  r.ctl.cancel = () => {
    if (!up.closed) up.close(NGHTTP2_CANCEL);
  };
  if (body.kind === 'none') onRequestEnd();
  else {
    up.once('finish', onRequestEnd);
    sendBody(up, body);
  }
  let trailers: IncomingHttpHeaders | undefined;
  up.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
  const [rh, flags] = await new Promise<[IncomingHttpHeaders, number]>((resolve, reject) => {
    const onClose = () => reject(Object.assign(new Error(`stream reset by ${me.endpoint.addr}`), { code: 'ERR_HTTP2_STREAM_ERROR', rstCode: up.rstCode }));
    // The reset code tells a refused stream (retryable) from others.
    const onError = (err: Error) => reject(Object.assign(err, { rstCode: up.rstCode }));
    up.once('error', onError);
    up.once('close', onClose);
    up.once('response', (headers: IncomingHttpHeaders, f: number) => {
      up.removeListener('error', onError);
      up.removeListener('close', onClose);
      resolve([headers, f]);
    });
  });
  return {
    status: Number(rh[':status']),
    grpcStatus: grpcOf(rh),
    headers: cleanResponse(rh),
    body: up,
    ended: (flags & END_STREAM) !== 0,
    trailers: () => trailers,
    cancel: () => {
      if (!up.closed) up.close(NGHTTP2_CANCEL);
    },
  };
}

/** A promise that rejects with `err` after `ms` (0: never), and its cancel. */
function deadline(ms: number, err: () => Error): { promise: Promise<never>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    if (ms > 0) timer = setTimeout(() => reject(err()), ms);
  });
  promise.catch(noop);
  return { promise, clear: () => clearTimeout(timer) };
}

export interface PolicyHttpOptions {
  readonly random?: () => number;
  readonly observer?: RouteObserver | undefined;
}

/** Routes one request of a policy target and answers the client. */
export function forwardPolicy(d: Downstream, mesh: EndpointClient, target: PolicyTarget, o: PolicyHttpOptions = {}): void {
  const ex = d.ex;
  const random = o.random ?? Math.random;
  const facts = requestFacts(d.method, d.target, { ...d.headers, ...(d.authority !== undefined ? { host: d.authority } : {}) });
  const rule = target.rule(facts, d.h1 ? 'h1' : 'h2', ex.grpc);
  const obs = o.observer?.route(target.parent, rule?.spec.route, target.policy.protocol === 'grpc');
  // The error a synthesized answer stands for, for the route metrics' `error` label.
  let failedWith = '';
  const fail = (err: ProxyError) => {
    failedWith = err.errorLabel;
    ex.fail(err);
  };
  obs?.start(ex, () => failedWith || ex.errorLabel);
  if (!rule) return fail(new RouteNotFoundError());
  const headers: Headers = { ...d.headers };
  const eff = effective(rule, headers, ex.grpc);
  const responseMods: HeaderModifier[] = [];

  // Filters answer for the route (failure injector, redirect) or change the request and response.
  const applyFilters = (filters: readonly Filter[], h: Headers): boolean => {
    for (const f of filters) {
      switch (f.kind) {
        case 'fail':
          if (f.ratio >= 1 || random() < f.ratio) {
            fail(new InjectedFailureError(f.status, f.grpc, f.message));
            return false;
          }
          break;
        case 'request-headers':
          applyModifier(h, f.mod);
          break;
        case 'response-headers':
          responseMods.push(f.mod);
          break;
        case 'redirect': {
          const location = redirectLocation(f.redirect, d, rule.spec.prefixes);
          if (location instanceof Error) {
            fail(new InvalidRedirectError(location.message));
            return false;
          }
          ex.status = f.redirect.status;
          d.head(f.redirect.status, { location, 'content-length': '0' }, true);
          ex.finish();
          return false;
        }
      }
    }
    return true;
  };
  if (!applyFilters(rule.spec.filters, headers)) return;
  if (rule.distribution.backends.length === 0) return fail(new NoBackendsError(rule.spec.route.name));

  // The attempt in flight (its upstream request, before or after its response head).
  let current: { cancel: () => void } | undefined;
  let pending: MeshPick | undefined;
  const cancelAll = () => {
    current?.cancel();
    current = undefined;
  };
  const timers: { clear(): void }[] = [];
  ex.onFinish(() => {
    for (const t of timers) t.clear();
    cancelAll();
  });
  const timeout = (kind: 'request' | 'response' | 'idle', ms: number): NodeJS.Timeout => {
    const t = setTimeout(() => {
      if (ex.finished) return;
      const err = new PolicyTimeoutError(kind, ms);
      cancelAll();
      if (!d.headersSent) return fail(err);
      ex.errorLabel = err.errorLabel;
      d.abort();
      ex.finish();
    }, ms);
    timers.push({ clear: () => clearTimeout(t) });
    return t;
  };
  if (eff.requestMs > 0) timeout('request', eff.requestMs);
  // Idle: restarted when the request ends, when the response head comes and on each response body chunk.
  const idle = eff.idleMs > 0 ? timeout('idle', eff.idleMs) : undefined;
  const touch = idle ? () => idle.refresh() : noop;
  // The response timeout runs from the end of the request, or from the response head if that comes first.
  let responseClock = false;
  const onRequestEnd = () => {
    touch();
    if (responseClock) return;
    responseClock = true;
    if (eff.responseMs > 0) timeout('response', eff.responseMs);
  };
  d.onGone(() => {
    cancelAll();
    pending?.done(false);
    pending = undefined;
    ex.errorLabel = 'i/o';
    ex.finish();
  });

  const retry = eff.retry && eff.retry.maxRetries > 0 ? eff.retry : undefined;
  const buffering: Promise<BufferedBody | undefined> = d.body && retry ? bufferForRetry(d.body, d.declaredLength, retry.maxRequestBytes) : Promise.resolve(undefined);
  const run = async (): Promise<void> => {
    const buffered = await buffering;
    const body: Body = !d.body ? { kind: 'none' } : buffered?.replayable ? { kind: 'buffer', data: buffered.body } : buffered ? { kind: 'stream', prefix: buffered.prefix, rest: buffered.rest } : { kind: 'stream', prefix: Buffer.alloc(0), rest: d.body };
    const maxRetries = retry && body.kind !== 'stream' ? retry.maxRetries : 0;
    let connectFailed: (err: ProxyError) => void = noop;
    for (let attempt = 0; ; attempt++) {
      if (ex.finished) return;
      const last = attempt >= maxRetries;
      const bb = rule.distribution.pick() as BoundBackend;
      const h: Headers = { ...headers };
      const mods = responseMods.length;
      if (!applyFilters(bb.filters, h)) return;
      const backendObs = obs?.backend(bb.spec.meta).request();
      let p: MeshPick;
      try {
        const picked = await bb.backend.balancer.acquire();
        const balancer = bb.backend.balancer;
        p = { me: picked.endpoint, firstByte: () => picked.firstByte(), done: (ok) => picked.done(ok) };
        connectFailed = (err) => reconnectBackoff(balancer, picked.key, picked.endpoint, err);
      } catch (err) {
        // Failing fast is retryable (another backend may be ready); shedding is not.
        if (err instanceof FailFastError && !last && retry && !ex.finished) {
          obs?.retry('requests');
          await sleep(backoffMs(retry, attempt, random));
          continue;
        }
        backendObs?.response(0, undefined, err instanceof ProxyError ? err.errorLabel : 'unexpected');
        throw err;
      }
      if (ex.finished) return p.done(false);
      if (attempt === 0) mesh.observe(ex, p.me);
      pending = p;
      const perTry = retry && !last && retry.timeoutMs > 0 ? deadline(retry.timeoutMs, () => new PolicyTimeoutError('response headers', retry.timeoutMs)) : undefined;
      let res: UpResponse;
      let drained = false;
      try {
        const ctl = { cancel: noop };
        current = { cancel: () => ctl.cancel() };
        const sending = sendAttempt(mesh, p, { d, headers: h, ctl }, body, onRequestEnd);
        res = await (perTry ? Promise.race([sending, perTry.promise]) : sending);
        perTry?.clear();
        if (perTry) sending.catch(noop);
        // A gRPC status in the trailers decides a retry too: look at them right after the first frame.
        if (retry && !last && ex.grpc && !res.ended && res.grpcStatus === undefined) {
          const peek = await peekGrpcStatus(res, p.me.endpoint.addr);
          res = { ...res, grpcStatus: peek.grpcStatus };
          drained = peek.drained;
        }
      } catch (err) {
        perTry?.clear();
        cancelAll();
        pending = undefined;
        p.done(false);
        // A per-try timeout, or a stream the endpoint refused before processing it (REFUSED_STREAM), is retried.
        const refused = (err as { rstCode?: number } | null)?.rstCode === NGHTTP2_REFUSED_STREAM;
        if ((err instanceof PolicyTimeoutError || (refused && !last)) && retry && !ex.finished) {
          backendObs?.response(0, undefined, err instanceof PolicyTimeoutError ? err.errorLabel : 'h2(REFUSED_STREAM)');
          obs?.retry('requests');
          await sleep(backoffMs(retry, attempt, random));
          continue;
        }
        const perr = asProxyError(err, p.me.endpoint.addr);
        backendObs?.response(0, undefined, perr.errorLabel);
        connectFailed(perr);
        // Linkerd answers endpoint failures below the route (502, 504): a route retrying those statuses retries them.
        if (retry && !last && !ex.finished && retryableStatus(retry, perr.httpStatus, perr.grpcStatus, ex.grpc)) {
          obs?.retry('requests');
          await sleep(backoffMs(retry, attempt, random));
          continue;
        }
        throw perr;
      }
      current = res;
      if (!p.me.h2) reconnects.get(p.me)?.backoff.reset();
      if (ex.finished) {
        backendObs?.response(res.status, res.grpcStatus, 'i/o');
        cancelAll();
        return p.done(false);
      }
      if (retry && !last && retryableStatus(retry, res.status, res.grpcStatus, ex.grpc)) {
        if (!rule.distribution.available) {
          obs?.retry('overflow');
        } else {
          res.cancel();
          backendObs?.response(res.status, res.grpcStatus, '');
          current = undefined;
          pending = undefined;
          p.done(false);
          responseMods.length = mods;
          obs?.retry('requests');
          await sleep(backoffMs(retry, attempt, random));
          continue;
        }
      } else if (retry && last && attempt > 0 && retryableStatus(retry, res.status, res.grpcStatus, ex.grpc)) obs?.retry('limit_exceeded');
      if (retry && attempt > 0 && !retryableStatus(retry, res.status, res.grpcStatus, ex.grpc)) obs?.retry('successes');
      pending = undefined;
      if (backendObs) ex.onFinish((e) => backendObs.response(e.status, e.grpcStatus >= 0 ? e.grpcStatus : undefined, failedWith || e.errorLabel));
      onRequestEnd();
      deliver(d, res, p, responseMods, touch, drained);
      return;
    }
  };
  run().catch((err: unknown) => {
    if (!ex.finished) fail(asProxyError(err, ex.entry.target.addr));
  });
}

const reconnects = new WeakMap<MeshEndpoint, { backoff: Backoff; timer: NodeJS.Timeout | undefined }>();

/**
 * An endpoint reached over a plain keep-alive agent (no pooled HTTP/2 connection that tracks its own state)
 * that refused a connection, or did not answer the connect in time, sits out a reconnect backoff (100 ms → 60 s,
 * as Linkerd's endpoint reconnects do), so P2C does not keep choosing it for its cheap failures.
 */
function reconnectBackoff(balancer: Balancer<MeshEndpoint>, key: string, me: MeshEndpoint, err: ProxyError): void {
  if (me.h2 || !(err instanceof ConnectError || err instanceof ConnectTimeoutError)) return;
  let r = reconnects.get(me);
  if (!r) reconnects.set(me, (r = { backoff: new Backoff(), timer: undefined }));
  if (r.timer) return;
  const state = r;
  balancer.setReady(key, false);
  state.timer = setTimeout(() => {
    state.timer = undefined;
    balancer.setReady(key, true);
  }, state.backoff.next());
  state.timer.unref();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reads the first body frame of a gRPC response and puts it back, then looks at the trailers as Linkerd peeks
 * them: after a message only if they came with it (nothing is waited for), without a message they are waited
 * for. `drained`: the body ended during the peek (no message, only trailers).
 */
function peekGrpcStatus(res: UpResponse, addr: string): Promise<{ grpcStatus: number | undefined; drained: boolean }> {
  const body = res.body;
  return new Promise((resolve, reject) => {
    const settle = (drained: boolean) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onClose);
      // Frames that came in the same read as the first one have been handled by the next turn of the loop.
      setImmediate(() => {
        const t = res.trailers();
        resolve({ grpcStatus: t ? grpcOf(t) : undefined, drained });
      });
    };
    const onData = (chunk: Buffer) => {
      body.pause();
      body.unshift(chunk);
      settle(false);
    };
    const onEnd = () => settle(true);
    const onClose = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      reject(Object.assign(new Error(`stream reset by ${addr}`), { code: 'ERR_HTTP2_STREAM_ERROR' }));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('close', onClose);
  });
}

function deliver(d: Downstream, res: UpResponse, p: MeshPick, mods: readonly HeaderModifier[], touch: () => void, drained: boolean): void {
  const ex = d.ex;
  touch();
  ex.status = res.status;
  if (res.grpcStatus !== undefined) ex.grpcStatus = res.grpcStatus;
  ex.onFinish((e) => p.done(e.errorLabel === '' && e.status > 0 && !defaultIsFailure(e.status, e.grpcStatus >= 0 ? e.grpcStatus : undefined)));
  const headers = res.headers;
  for (const m of mods) applyModifier(headers, m);
  if (res.ended) {
    d.head(res.status, headers, true);
    ex.finish();
    return;
  }
  const sink = d.head(res.status, headers, false) as Writable;
  if (drained) {
    const t = res.trailers();
    if (res.grpcStatus !== undefined) ex.grpcStatus = res.grpcStatus;
    d.end(t);
    ex.finish();
    return;
  }
  res.body.once('data', () => {
    ex.firstByte();
    p.firstByte();
  });
  res.body.pipe(sink, { end: false });
  if (touch !== noop) res.body.on('data', touch);
  res.body.once('end', () => {
    const t = res.trailers();
    const g = t ? grpcOf(t) : undefined;
    if (g !== undefined) ex.grpcStatus = g;
    d.end(t);
    ex.finish();
  });
  res.body.once('close', () => {
    if (ex.finished) return;
    // The upstream went away mid-response: the client sees it cut, not a truncated success.
    ex.errorLabel = 'i/o';
    d.abort();
    ex.finish();
  });
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}

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
    abort() {
      if (!stream.closed) stream.close(NGHTTP2_INTERNAL_ERROR);
    },
    onGone(f) {
      stream.on('close', () => {
        if (!ex.finished && stream.rstCode !== NGHTTP2_NO_ERROR) f();
        else if (!ex.finished && !stream.headersSent) f();
      });
    },
  };
}
