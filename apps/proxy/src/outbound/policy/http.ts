// The OutboundPolicy route stage (docs/reference/linkerd-proxy.md §4, §5; docs/reference/linkerd-contracts.md §1.7,
// §1.10), the same for HTTP/1, HTTP/2 and gRPC: the most specific rule of the policy's routes (404 when none), its
// filters in order (failure injector by ratio, request and response header modifiers, redirect), its timeouts
// (request: the whole exchange; response: from the end of the request to the end of the response; idle: nothing
// moved for that long; each a non-fatal 504), then per attempt a backend from its distribution, that backend's
// filters, an endpoint from its balancer (queue, failfast 504, shed 503, failure accrual), and the one
// attempt-and-relay (outbound/attempt.ts, outbound/relay.ts). With a retry policy the body (up to
// max_request_bytes) is kept so an attempt whose status (or gRPC code) the conditions name, whose per-try timeout
// fired, or that failed fast, is sent again after an exponential, jittered backoff, up to max_retries. l5d-retry-*
// and l5d-*timeout headers override all that when the rule allows them (l5d-headers.ts).
import { constants } from 'node:http2';
import { FailFastError } from '../../balance/errors.ts';
import type { Balancer, Picked } from '../../balance/p2c.ts';
import { Backoff } from '../../discovery/backoff.ts';
import type { MeshEndpoint } from '../../discovery/outbound.ts';
import { asProxyError, ConnectError, ConnectTimeoutError, ProxyError } from '../../errors.ts';
import type { Downstream, Headers } from '../../http/exchange.ts';
import { requestFacts } from '../../policy/match.ts';
import { InjectedFailureError, InvalidRedirectError, RouteNotFoundError } from '../../policy/route-errors.ts';
import { redirectLocation, type HeaderModifier } from '../../policy/route-filters.ts';
import { bufferForRetry } from '../../profiles/retry.ts';
import { InFlight, sendAttempt } from '../attempt.ts';
import { grpcOf, type Body, type EndpointClient, type MeshPick, type UpResponse } from '../endpoint-client.ts';
import { relay } from '../relay.ts';
import type { Filter, RetrySpec } from './compile.ts';
import { NoBackendsError, PolicyTimeoutError } from './errors.ts';
import { backoffMs, effective, retryableStatus, type Effective } from './l5d-headers.ts';
import type { BackendAttempt, RouteObserver, RouteSeries } from './metrics.ts';
import type { BoundBackend, BoundRule, PolicyTarget } from './target.ts';

const { NGHTTP2_REFUSED_STREAM } = constants as unknown as Record<string, number>;

export interface PolicyHttpOptions {
  readonly random?: () => number;
  readonly observer?: RouteObserver | undefined;
}

/** Routes one request of a policy target and answers the client. */
export function forwardPolicy(d: Downstream, client: EndpointClient, target: PolicyTarget, o: PolicyHttpOptions = {}): void {
  const ex = d.ex;
  const facts = requestFacts(d.method, d.target, { ...d.headers, ...(d.authority !== undefined ? { host: d.authority } : {}) });
  const rule = target.rule(facts, d.h1 ? 'h1' : 'h2', ex.grpc);
  const obs = o.observer?.route(target.parent, rule?.spec.route, target.policy.protocol === 'grpc');
  const r = new PolicyRequest(d, client, obs, o.random ?? Math.random);
  obs?.start(ex, () => r.failedWith || ex.errorLabel);
  if (!rule) return r.fail(new RouteNotFoundError());
  r.start(rule);
}

function applyModifier(h: Headers, m: HeaderModifier): void {
  for (const [name, value] of m.add) {
    const prev = h[name];
    h[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  for (const [name, value] of m.set) h[name] = value;
  for (const name of m.remove) delete h[name];
}

type BackendObs = BackendAttempt | undefined;
type RouteObs = RouteSeries | undefined;

/** One request on its way through the rule's stages. */
class PolicyRequest {
  readonly d: Downstream;
  readonly client: EndpointClient;
  readonly obs: RouteObs;
  readonly random: () => number;
  readonly flight: InFlight;
  /** The error a synthesized answer stands for, for the route metrics' `error` label. */
  failedWith = '';
  readonly responseMods: HeaderModifier[] = [];
  headers: Headers = {};
  touch: () => void = noop;
  #responseClock = false;
  #responseMs = 0;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(d: Downstream, client: EndpointClient, obs: RouteObs, random: () => number) {
    this.d = d;
    this.client = client;
    this.obs = obs;
    this.random = random;
    this.flight = new InFlight(d);
    d.ex.onFinish(() => {
      for (const t of this.#timers) clearTimeout(t);
    });
  }

  fail(err: ProxyError): void {
    this.failedWith = err.errorLabel;
    this.d.ex.fail(err);
  }

  start(rule: BoundRule): void {
    this.headers = { ...this.d.headers };
    const eff = effective(rule, this.headers, this.d.ex.grpc);
    if (!this.filter(rule, rule.spec.filters, this.headers)) return;
    if (rule.distribution.backends.length === 0) return this.fail(new NoBackendsError(rule.spec.route.name));
    this.timeouts(eff);
    const retry = eff.retry && eff.retry.maxRetries > 0 ? eff.retry : undefined;
    const body = this.d.body;
    const buffering = body && retry ? bufferForRetry(body, this.d.declaredLength, retry.maxRequestBytes) : Promise.resolve(undefined);
    buffering
      .then((b) => {
        const sent: Body = !body ? { kind: 'none' } : b?.replayable ? { kind: 'buffer', data: b.body } : { kind: 'stream', prefix: b?.prefix ?? Buffer.alloc(0), rest: b ? b.rest : body };
        return this.attempts(rule, sent, retry && sent.kind !== 'stream' ? retry : undefined);
      })
      .catch((err: unknown) => {
        if (!this.d.ex.finished) this.fail(asProxyError(err, this.d.ex.entry.target.addr));
      });
  }

  /** Filters answer for the route (failure injector, redirect) or change the request and response. */
  filter(rule: BoundRule, filters: readonly Filter[], h: Headers): boolean {
    const { d, random } = this;
    for (const f of filters) {
      if (f.kind === 'fail' && (f.ratio >= 1 || random() < f.ratio)) {
        this.fail(new InjectedFailureError(f.status, f.grpc, f.message));
        return false;
      }
      if (f.kind === 'request-headers') applyModifier(h, f.mod);
      else if (f.kind === 'response-headers') this.responseMods.push(f.mod);
      else if (f.kind === 'redirect') {
        const location = redirectLocation(f.redirect, d, rule.spec.prefixes);
        if (location instanceof Error) {
          this.fail(new InvalidRedirectError(location.message));
          return false;
        }
        d.ex.status = f.redirect.status;
        d.head(f.redirect.status, { location, 'content-length': '0' }, true);
        d.ex.finish();
        return false;
      }
    }
    return true;
  }

  /** The rule's request and idle timeouts start now; the response timeout when the request has been sent. */
  timeouts(eff: Effective): void {
    if (eff.requestMs > 0) this.#timeout('request', eff.requestMs);
    // Idle: restarted when the request ends, when the response head comes and on each response body chunk.
    const idle = eff.idleMs > 0 ? this.#timeout('idle', eff.idleMs) : undefined;
    if (idle) this.touch = () => idle.refresh();
    this.#responseMs = eff.responseMs;
  }

  /** The request has been sent (or its response head came first): the response timeout runs from now. */
  readonly requestEnded = (): void => {
    this.touch();
    if (this.#responseClock) return;
    this.#responseClock = true;
    if (this.#responseMs > 0) this.#timeout('response', this.#responseMs);
  };

  #timeout(kind: 'request' | 'response' | 'idle', ms: number): NodeJS.Timeout {
    const d = this.d;
    const t = setTimeout(() => {
      if (d.ex.finished) return;
      const err = new PolicyTimeoutError(kind, ms);
      this.flight.cancel();
      if (!d.headersSent) return this.fail(err);
      d.ex.errorLabel = err.errorLabel;
      d.abort();
      d.ex.finish();
    }, ms);
    this.#timers.push(t);
    return t;
  }

  /** Attempts until one is answered for good (or retries run out), then relays that answer. */
  async attempts(rule: BoundRule, body: Body, retry: RetrySpec | undefined): Promise<void> {
    const maxRetries = retry ? retry.maxRetries : 0;
    for (let attempt = 0; ; attempt++) {
      if (this.d.ex.finished) return;
      const outcome = await this.attempt(rule, body, retry, attempt, attempt >= maxRetries);
      if (outcome === 'done') return;
      this.obs?.retry('requests');
      await sleep(backoffMs(retry as RetrySpec, attempt, this.random));
    }
  }

  /** One attempt: a backend, its filters, an endpoint, the send; 'retry' when the answer calls for another. */
  async attempt(rule: BoundRule, body: Body, retry: RetrySpec | undefined, attempt: number, last: boolean): Promise<'done' | 'retry'> {
    const { d, flight } = this;
    const bb = rule.distribution.pick() as BoundBackend;
    const h: Headers = { ...this.headers };
    const mods = this.responseMods.length;
    if (!this.filter(rule, bb.filters, h)) return 'done';
    const backendObs = this.obs?.backend(bb.spec.meta).request();
    let p: MeshPick;
    try {
      p = await flight.pick(() => bb.backend.balancer.acquire().then((picked) => pickOf(picked, bb.backend.balancer)));
    } catch (err) {
      // Failing fast is retryable (another backend may be ready); shedding is not.
      if (err instanceof FailFastError && !last && retry && !d.ex.finished) return 'retry';
      backendObs?.response(0, undefined, err instanceof ProxyError ? err.errorLabel : 'unexpected');
      throw err;
    }
    if (attempt === 0) this.client.observe(d.ex, p.me);
    let res: UpResponse;
    let drained = false;
    try {
      [res, drained] = await this.send(p, h, body, retry && !last ? retry : undefined);
    } catch (err) {
      return this.failed(err, p, retry, last, backendObs);
    }
    if (!p.me.h2) reconnects.get(p.me)?.backoff.reset();
    if (d.ex.finished) {
      backendObs?.response(res.status, res.grpcStatus, 'i/o');
      flight.cancel();
      return 'done';
    }
    if (this.retryAnswer(rule, res, retry, attempt, last, backendObs)) {
      this.responseMods.length = mods;
      return 'retry';
    }
    if (backendObs) d.ex.onFinish((e) => backendObs.response(e.status, e.grpcStatus >= 0 ? e.grpcStatus : undefined, this.failedWith || e.errorLabel));
    this.requestEnded();
    flight.settled();
    const edits = this.responseMods;
    relay(d, res, p, { edit: (headers) => edits.forEach((m) => applyModifier(headers, m)), touch: this.touch, drained });
    return 'done';
  }

  /** Sends on `p`, under the per-try timeout when a retry may follow; a gRPC status in the trailers is peeked. */
  async send(p: MeshPick, h: Headers, body: Body, retry: RetrySpec | undefined): Promise<[UpResponse, boolean]> {
    const sending = sendAttempt(this.d, this.client, p, h, body, this.flight, this.requestEnded);
    let timer: NodeJS.Timeout | undefined;
    const perTry =
      retry && retry.timeoutMs > 0
        ? new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new PolicyTimeoutError('response headers', retry.timeoutMs)), retry.timeoutMs);
          })
        : undefined;
    let res: UpResponse;
    try {
      res = await (perTry ? Promise.race([sending, perTry]) : sending);
    } finally {
      clearTimeout(timer);
      sending.catch(noop);
    }
    // A gRPC status in the trailers decides a retry too: look at them right after the first frame.
    if (retry && this.d.ex.grpc && !res.ended && res.grpcStatus === undefined) {
      const peek = await peekGrpcStatus(res, p.me.endpoint.addr);
      return [{ ...res, grpcStatus: peek.grpcStatus }, peek.drained];
    }
    return [res, false];
  }

  /** An attempt that failed before its answer: retried (per-try timeout, refused stream, a retryable status), or final. */
  failed(err: unknown, p: MeshPick, retry: RetrySpec | undefined, last: boolean, backendObs: BackendObs): 'retry' {
    const { d, flight } = this;
    flight.cancel();
    flight.release(p, false);
    // A per-try timeout, or a stream the endpoint refused before processing it (REFUSED_STREAM), is retried.
    const refused = (err as { rstCode?: number } | null)?.rstCode === NGHTTP2_REFUSED_STREAM;
    if ((err instanceof PolicyTimeoutError || (refused && !last)) && retry && !d.ex.finished) {
      backendObs?.response(0, undefined, err instanceof PolicyTimeoutError ? err.errorLabel : 'h2(REFUSED_STREAM)');
      return 'retry';
    }
    const perr = asProxyError(err, p.me.endpoint.addr);
    backendObs?.response(0, undefined, perr.errorLabel);
    reconnectBackoff(p.me, perr);
    // Linkerd answers endpoint failures below the route (502, 504): a route retrying those statuses retries them.
    if (retry && !last && !d.ex.finished && retryableStatus(retry, perr.httpStatus, perr.grpcStatus, d.ex.grpc)) return 'retry';
    throw perr;
  }

  /** Whether an answer is dropped for another attempt; counts the retry outcome either way. */
  retryAnswer(rule: BoundRule, res: UpResponse, retry: RetrySpec | undefined, attempt: number, last: boolean, backendObs: BackendObs): boolean {
    if (!retry) return false;
    const retryable = retryableStatus(retry, res.status, res.grpcStatus, this.d.ex.grpc);
    if (retryable && !last) {
      if (rule.distribution.available) {
        backendObs?.response(res.status, res.grpcStatus, '');
        this.flight.cancel();
        return true;
      }
      this.obs?.retry('overflow');
    } else if (retryable && attempt > 0) this.obs?.retry('limit_exceeded');
    if (attempt > 0 && !retryable) this.obs?.retry('successes');
    return false;
  }
}

/** The balancer's pick as an attempt sees it, and the balancer it came from (for the reconnect backoff). */
function pickOf(picked: Picked<MeshEndpoint>, balancer: Balancer<MeshEndpoint>): MeshPick {
  balancers.set(picked.endpoint, { balancer, key: picked.key });
  return { me: picked.endpoint, firstByte: () => picked.firstByte(), done: (ok) => picked.done(ok) };
}

const balancers = new WeakMap<MeshEndpoint, { balancer: Balancer<MeshEndpoint>; key: string }>();
const reconnects = new WeakMap<MeshEndpoint, { backoff: Backoff; timer: NodeJS.Timeout | undefined }>();

/**
 * An endpoint reached over a plain keep-alive agent (no pooled HTTP/2 connection that tracks its own state)
 * that refused a connection, or did not answer the connect in time, sits out a reconnect backoff (100 ms → 60 s,
 * as Linkerd's endpoint reconnects do), so P2C does not keep choosing it for its cheap failures.
 */
function reconnectBackoff(me: MeshEndpoint, err: ProxyError): void {
  const b = balancers.get(me);
  if (!b || me.h2 || !(err instanceof ConnectError || err instanceof ConnectTimeoutError)) return;
  let r = reconnects.get(me);
  if (!r) reconnects.set(me, (r = { backoff: new Backoff(), timer: undefined }));
  if (r.timer) return;
  const state = r;
  b.balancer.setReady(b.key, false);
  state.timer = setTimeout(() => {
    state.timer = undefined;
    b.balancer.setReady(b.key, true);
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

function noop(): void {
  // nothing to restart when the rule has no idle timeout
}
