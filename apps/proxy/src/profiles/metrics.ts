// Per-route metrics for ServiceProfile routes (docs/reference/linkerd-proxy.md §6): route_request_total,
// route_response_total (status_code, classification), route_response_latency_ms, the per-attempt
// route_actual_* twins and route_retryable_total, labelled direction, dst and the route's rt_* labels (none for
// the default route: requests that matched no route). Series are found once per (route, status) and kept; nothing
// is rendered per request. Both directions count through countRoute: outbound around the profile route stage,
// inbound where the server proxy looked the request's logical name up (inbound/profile-routes.ts).
import { performance } from 'node:perf_hooks';
import type { Exchange } from '../http/exchange.ts';
import { CounterFamily, HistogramFamily, joinLabels, labelText, type CounterChild, type HistogramChild } from '../metrics/families.ts';
import { LATENCY_BUCKETS_MS, type Direction } from '../metrics/proxy-metrics.ts';
import { RouteObserver } from '../outbound/policy/metrics.ts';
import type { CompiledRoute } from './routes.ts';

export class RouteMetricFamilies {
  readonly request = new CounterFamily('route_request_total', 'Total count of HTTP requests by route.');
  readonly response = new CounterFamily('route_response_total', 'Total count of HTTP responses by route.');
  readonly latency = new HistogramFamily('route_response_latency_ms', 'Elapsed times between a request\'s headers being received and its response stream completing, by route.', LATENCY_BUCKETS_MS);
  readonly actualRequest = new CounterFamily('route_actual_request_total', 'Total count of HTTP requests by route, including retries.');
  readonly actualResponse = new CounterFamily('route_actual_response_total', 'Total count of HTTP responses by route, including retries.');
  readonly retryable = new CounterFamily('route_retryable_total', 'Total count of retryable HTTP responses by route, by whether the budget allowed a retry.');
  /** The outbound_{http,grpc}_route_* families of policy routes, rendered and swept with these. */
  readonly policy = new RouteObserver();

  /** For the admin server's /metrics: each family renders its own text. */
  all() {
    return [this.request, this.response, this.latency, this.actualRequest, this.actualResponse, this.retryable, ...this.policy.all()];
  }

  sweep(now: number, retainMs: number): void {
    for (const f of this.all()) f.sweep(now, retainMs);
  }

  /** Inbound has no retries: its routes have no route_actual_* series. */
  route(direction: Direction, dst: string, rt: Readonly<Record<string, string>>): RouteSeries {
    return new RouteSeries(this, joinLabels(labelText({ direction, dst }), labelText(rt)), direction === 'outbound');
  }
}

interface ResponseSeries {
  readonly total: CounterChild;
  readonly latency: HistogramChild;
  /** Outbound only. */
  readonly actual: CounterChild | undefined;
}

export class RouteSeries {
  readonly requests: CounterChild;
  /** Outbound only. */
  readonly actualRequests: CounterChild | undefined;
  readonly #f: RouteMetricFamilies;
  readonly #labels: string;
  readonly #actual: boolean;
  readonly #responses = new Map<string, ResponseSeries>();
  #retryable: { allowed: CounterChild; denied: CounterChild } | undefined;

  constructor(f: RouteMetricFamilies, labels: string, actual: boolean) {
    this.#f = f;
    this.#labels = labels;
    this.#actual = actual;
    this.requests = f.request.child(labels);
    this.actualRequests = actual ? f.actualRequest.child(labels) : undefined;
  }

  response(status: number, failure: boolean): ResponseSeries {
    const key = `${status}|${failure ? 1 : 0}`;
    let s = this.#responses.get(key);
    if (!s) {
      const labels = joinLabels(this.#labels, labelText({ status_code: String(status), classification: failure ? 'failure' : 'success' }));
      s = {
        total: this.#f.response.child(labels),
        latency: this.#f.latency.child(joinLabels(this.#labels, labelText({ status_code: String(status) }))),
        actual: this.#actual ? this.#f.actualResponse.child(labels) : undefined,
      };
      this.#responses.set(key, s);
    }
    return s;
  }

  retryable(allowed: boolean): CounterChild {
    this.#retryable ??= {
      allowed: this.#f.retryable.child(joinLabels(this.#labels, labelText({ retry: 'true' }))),
      denied: this.#f.retryable.child(joinLabels(this.#labels, labelText({ retry: 'false' }))),
    };
    return allowed ? this.#retryable.allowed : this.#retryable.denied;
  }
}

/** The series of one logical destination's routes (and its default route), found once per route. */
export class LogicalRouteSeries {
  readonly #f: RouteMetricFamilies;
  readonly #direction: Direction;
  readonly #dst: string;
  readonly #byRoute = new Map<CompiledRoute | undefined, RouteSeries>();

  constructor(f: RouteMetricFamilies, direction: Direction, dst: string) {
    this.#f = f;
    this.#direction = direction;
    this.#dst = dst;
  }

  /** `undefined`: the default route (no rt_* labels). */
  of(route: CompiledRoute | undefined): RouteSeries {
    let s = this.#byRoute.get(route);
    if (!s) this.#byRoute.set(route, (s = this.#f.route(this.#direction, this.#dst, route?.labels ?? {})));
    return s;
  }
}

/** Whether a response is a failure under the route's classes, or by default (5xx) without a route. */
export function isRouteFailure(route: CompiledRoute | undefined, status: number, grpcStatus: number | undefined): boolean {
  return route ? route.isFailure(status, grpcStatus) : status >= 500;
}

/** Route metrics of one exchange: the request counted at once, its response and latency when the exchange ends. */
export function countRoute(ex: Exchange, route: CompiledRoute | undefined, series: RouteSeries | undefined): void {
  if (!series) return;
  series.requests.inc();
  ex.onFinish((e) => {
    const rs = series.response(e.status, isRouteFailure(route, e.status, e.grpcStatus >= 0 ? e.grpcStatus : undefined));
    rs.total.inc();
    rs.latency.observe(performance.now() - e.startedAt);
  });
}
