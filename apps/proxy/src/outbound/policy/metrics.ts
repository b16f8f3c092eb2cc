// Per-route metrics of policy routes (docs/reference/linkerd-contracts.md §9.3): outbound_{http,grpc}_route_request_duration_seconds,
// ..._request_statuses_total, ..._backend_requests_total, ..._backend_response_statuses_total and
// ..._retry_{requests,successes,limit_exceeded,overflow}_total, labelled parent_* (the Service), route_* (the
// HTTPRoute or default route) and backend_*. Series are found once per compiled route (a WeakMap on its
// metadata, which lives as long as the policy version) and per status, never rendered per request.
import { performance } from 'node:perf_hooks';
import type { Exchange } from '../../http/exchange.ts';
import { CounterFamily, HistogramFamily, joinLabels, labelText, type CounterChild, type HistogramChild } from '../../metrics/families.ts';
import type { MetaLabels } from './compile.ts';

const DURATION_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const GRPC_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** Linkerd's `error` label of these families, from our classic error labels. */
export function errorKind(label: string): string {
  if (label === '') return '';
  if (label === 'failfast') return 'FAIL_FAST';
  if (label === 'loadshed') return 'LOAD_SHED';
  if (label === 'request timeout') return 'REQUEST_TIMEOUT';
  if (label === 'response headers timeout') return 'RESPONSE_HEADERS_TIMEOUT';
  if (label === 'response timeout') return 'RESPONSE_STREAM_TIMEOUT';
  if (label === 'idle timeout') return 'IDLE_TIMEOUT';
  if (label === 'i/o') return 'IO';
  const h2 = /^h2\((\w+)\)$/.exec(label);
  if (h2) return h2[1] === 'REFUSED_STREAM' ? 'REFUSED' : h2[1] === 'CANCEL' || h2[1] === 'ENHANCE_YOUR_CALM' ? h2[1] : 'RESET';
  return 'UNKNOWN';
}

function prefixed(prefix: string, m: MetaLabels): Record<string, string> {
  if (prefix === 'route') return { route_group: m.group, route_kind: m.kind, route_namespace: m.namespace, route_name: m.name };
  return { [`${prefix}_group`]: m.group, [`${prefix}_kind`]: m.kind, [`${prefix}_namespace`]: m.namespace, [`${prefix}_name`]: m.name, [`${prefix}_port`]: m.port, [`${prefix}_section_name`]: m.section };
}

class Families {
  readonly duration: HistogramFamily;
  readonly statuses: CounterFamily;
  readonly backendRequests: CounterFamily;
  readonly backendDuration: HistogramFamily;
  readonly backendStatuses: CounterFamily;
  readonly retries: Record<RetryKind, CounterFamily>;
  constructor(p: string) {
    this.duration = new HistogramFamily(`${p}_request_duration_seconds`, 'The time between request initialization and response completion.', DURATION_BUCKETS);
    this.statuses = new CounterFamily(`${p}_request_statuses_total`, 'Completed request-response streams.');
    this.backendRequests = new CounterFamily(`${p}_backend_requests_total`, 'The total number of requests dispatched to a backend.');
    this.backendDuration = new HistogramFamily(`${p}_backend_response_duration_seconds`, 'The time between request dispatch to a backend and its response completion.', DURATION_BUCKETS);
    this.backendStatuses = new CounterFamily(`${p}_backend_response_statuses_total`, 'Completed responses from a backend.');
    this.retries = {
      requests: new CounterFamily(`${p}_retry_requests_total`, 'Retry requests emitted.'),
      successes: new CounterFamily(`${p}_retry_successes_total`, 'Successful responses to retry requests.'),
      limit_exceeded: new CounterFamily(`${p}_retry_limit_exceeded_total`, 'Retryable requests not sent due to retry limits.'),
      overflow: new CounterFamily(`${p}_retry_overflow_total`, 'Retryable requests not sent due to circuit breakers.'),
    };
  }
  all() {
    return [this.duration, this.statuses, this.backendRequests, this.backendDuration, this.backendStatuses, ...Object.values(this.retries)];
  }
}

export type RetryKind = 'requests' | 'successes' | 'limit_exceeded' | 'overflow';

/** One attempt dispatched to a backend: its response (or error) when it ends, timed from the dispatch. */
export interface BackendAttempt {
  response(status: number, grpcStatus: number | undefined, error: string): void;
}

export interface BackendObserver {
  request(): BackendAttempt;
}

export class RouteSeries {
  readonly #f: Families;
  readonly #grpc: boolean;
  readonly #labels: string;
  readonly #duration: HistogramChild;
  readonly #statuses = new Map<string, CounterChild>();
  readonly #backends = new WeakMap<MetaLabels, BackendObserver>();
  readonly #retries = new Map<RetryKind, CounterChild>();

  constructor(f: Families, grpc: boolean, labels: string) {
    this.#f = f;
    this.#grpc = grpc;
    this.#labels = labels;
    this.#duration = f.duration.child(labels);
  }

  #statusLabels(status: number, grpcStatus: number | undefined, error: string): string {
    const s: Record<string, string> = this.#grpc ? { grpc_status: grpcStatus !== undefined && grpcStatus >= 0 ? (GRPC_NAMES[grpcStatus] ?? String(grpcStatus)) : '' } : { http_status: status > 0 ? String(status) : '' };
    s['error'] = errorKind(error);
    return labelText(s);
  }

  /** Counts the exchange's status, its error (`error()`, read at the end) and its duration when it ends. */
  start(ex: Exchange, error: () => string): void {
    ex.onFinish((e) => {
      const err = error();
      const key = `${e.status}|${e.grpcStatus}|${err}`;
      let c = this.#statuses.get(key);
      if (!c) this.#statuses.set(key, (c = this.#f.statuses.child(joinLabels(this.#labels, this.#statusLabels(e.status, e.grpcStatus, err)))));
      c.inc();
      this.#duration.observe((performance.now() - e.startedAt) / 1000);
    });
  }

  backend(meta: MetaLabels): BackendObserver {
    let b = this.#backends.get(meta);
    if (b) return b;
    const labels = joinLabels(this.#labels, labelText(prefixed('backend', meta)));
    const requests = this.#f.backendRequests.child(labels);
    const duration = this.#f.backendDuration.child(labels);
    const statuses = new Map<string, CounterChild>();
    const response = (status: number, grpcStatus: number | undefined, error: string, start: number) => {
      const key = `${status}|${grpcStatus}|${error}`;
      let c = statuses.get(key);
      if (!c) statuses.set(key, (c = this.#f.backendStatuses.child(joinLabels(labels, this.#statusLabels(status, grpcStatus, error)))));
      c.inc();
      duration.observe((performance.now() - start) / 1000);
    };
    b = {
      request: () => {
        requests.inc();
        const start = performance.now();
        let done = false;
        return {
          response: (status, grpcStatus, error) => {
            if (done) return;
            done = true;
            response(status, grpcStatus, error, start);
          },
        };
      },
    };
    this.#backends.set(meta, b);
    return b;
  }

  retry(kind: RetryKind): void {
    let c = this.#retries.get(kind);
    if (!c) this.#retries.set(kind, (c = this.#f.retries[kind].child(this.#labels)));
    c.inc();
  }
}

/** A policy target as the endpoints gauge reads it. */
export interface BalancedTarget {
  readonly parent: MetaLabels;
  readonly grpc: boolean;
  balancers(): Iterable<{ readonly meta: MetaLabels; readonly balancer: { counts(): { ready: number; pending: number } } }>;
}

/**
 * outbound_{http,grpc}_balancer_endpoints{endpoint_state="ready"|"pending",parent_*,backend_*}: read from the
 * live policy targets' balancers when scraped, so nothing is kept per endpoint.
 */
export class BalancerEndpoints {
  readonly #targets = new Set<BalancedTarget>();

  track(t: BalancedTarget): void {
    this.#targets.add(t);
  }

  untrack(t: BalancedTarget): void {
    this.#targets.delete(t);
  }

  render(): string {
    const rows = { http: new Map<string, number>(), grpc: new Map<string, number>() };
    for (const t of this.#targets) {
      const parent = labelText(prefixed('parent', t.parent));
      for (const { meta, balancer } of t.balancers()) {
        const c = balancer.counts();
        const labels = joinLabels(parent, labelText(prefixed('backend', meta)));
        const m = t.grpc ? rows.grpc : rows.http;
        for (const state of ['ready', 'pending'] as const) {
          const key = `endpoint_state="${state}",${labels}`;
          m.set(key, (m.get(key) ?? 0) + c[state]);
        }
      }
    }
    let out = '';
    for (const kind of ['http', 'grpc'] as const) {
      const m = rows[kind];
      if (m.size === 0) continue;
      const name = `outbound_${kind}_balancer_endpoints`;
      out += `# HELP ${name} The number of endpoints in a backend's balancer, by state.\n# TYPE ${name} gauge\n`;
      for (const [labels, v] of m) out += `${name}{${labels}} ${v}\n`;
    }
    return out;
  }

  /** Nothing is kept between scrapes. */
  sweep(): void {
    // the gauge is computed from live balancers at each scrape
  }
}

const NO_ROUTE: MetaLabels = { group: '', kind: 'default', namespace: '', name: '', section: '', port: '' };

export class RouteObserver {
  readonly #http = new Families('outbound_http_route');
  readonly #grpc = new Families('outbound_grpc_route');
  readonly #series = new WeakMap<MetaLabels, WeakMap<MetaLabels, RouteSeries>>();
  /** Endpoints per policy backend balancer (policy targets register here while they live). */
  readonly endpoints = new BalancerEndpoints();

  /** The series of one route of one parent (no route: the parent's requests that matched none). */
  route(parent: MetaLabels, route: MetaLabels | undefined, grpc: boolean): RouteSeries {
    const r = route ?? NO_ROUTE;
    let byRoute = this.#series.get(parent);
    if (!byRoute) this.#series.set(parent, (byRoute = new WeakMap()));
    let s = byRoute.get(r);
    if (!s) {
      const labels = labelText({ ...prefixed('parent', parent), ...prefixed('route', r) });
      byRoute.set(r, (s = new RouteSeries(grpc ? this.#grpc : this.#http, grpc, labels)));
    }
    return s;
  }

  all() {
    return [...this.#http.all(), ...this.#grpc.all(), this.endpoints];
  }

  sweep(now: number, retainMs: number): void {
    for (const f of this.all()) f.sweep(now, retainMs);
  }
}
