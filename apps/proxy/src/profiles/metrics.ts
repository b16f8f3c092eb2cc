// Per-route metrics for ServiceProfile routes (docs/reference/linkerd-proxy.md §6): route_request_total,
// route_response_total (status_code, classification), route_response_latency_ms, the per-attempt
// route_actual_* twins and route_retryable_total, labelled direction, dst and the route's rt_* labels. Series
// are found once per (route, status) and kept; nothing is rendered per request.
import { CounterFamily, HistogramFamily, joinLabels, labelText, type CounterChild, type HistogramChild } from '../metrics/families.ts';
import { LATENCY_BUCKETS_MS, type Direction } from '../metrics/proxy-metrics.ts';
import { RouteObserver } from '../outbound/policy/metrics.ts';

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

  route(direction: Direction, dst: string, rt: Readonly<Record<string, string>>): RouteSeries {
    return new RouteSeries(this, joinLabels(labelText({ direction, dst }), labelText(rt)));
  }
}

interface ResponseSeries {
  readonly total: CounterChild;
  readonly latency: HistogramChild;
  readonly actual: CounterChild;
}

export class RouteSeries {
  readonly requests: CounterChild;
  readonly actualRequests: CounterChild;
  readonly #f: RouteMetricFamilies;
  readonly #labels: string;
  readonly #responses = new Map<string, ResponseSeries>();
  #retryable: { allowed: CounterChild; denied: CounterChild } | undefined;

  constructor(f: RouteMetricFamilies, labels: string) {
    this.#f = f;
    this.#labels = labels;
    this.requests = f.request.child(labels);
    this.actualRequests = f.actualRequest.child(labels);
  }

  response(status: number, failure: boolean): ResponseSeries {
    const key = `${status}|${failure ? 1 : 0}`;
    let s = this.#responses.get(key);
    if (!s) {
      const labels = joinLabels(this.#labels, labelText({ status_code: String(status), classification: failure ? 'failure' : 'success' }));
      s = {
        total: this.#f.response.child(labels),
        latency: this.#f.latency.child(joinLabels(this.#labels, labelText({ status_code: String(status) }))),
        actual: this.#f.actualResponse.child(labels),
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
