// PromQL of per-route stats, over the two kinds of route a proxy reports:
//
// - ServiceProfile routes: route_response_total / route_actual_response_total (with retries) and
//   route_response_latency_ms, labelled `direction`, `dst` (the logical authority, `svc.ns.svc.<domain>:port`) and
//   the route's `rt_*` labels (`rt_route` its name; absent for requests that matched no route), as Linkerd's viz reads
//   them (by rt_route and dst, classification from the proxy).
// - Policy routes (HTTPRoute, GRPCRoute): on the client, outbound_{http,grpc}_route_request_statuses_total and
//   ..._request_duration_seconds (seconds), labelled parent_* (the Service), route_* and http_status / grpc_status
//   and error; on the server, the endpoint series response_total / response_latency_ms carry the Server (srv_*) and
//   the route (route_kind, route_name) that admitted each request.
//
// Inbound (no `to`) reads the target's own inbound series; with `to`, the target's outbound series towards the
// `to` resource's Services.
import { eq, selector, sourceMatchers, type Matcher, type Target } from './queries.ts';

export interface RouteQuery {
  readonly target: Target;
  /** The Services the target's requests went to (outbound); undefined: the target's inbound routes. */
  readonly to?: { readonly namespace: string; readonly services: readonly string[] };
  readonly window: string;
  readonly adminPort: number;
}

export interface Quantiles {
  readonly p50: string;
  readonly p95: string;
  readonly p99: string;
}

/** One route family: its counts (by the labels `by` plus the status labels) and latency quantiles. */
export interface RouteFamilyQueries {
  /** How a series names its row: the labels to read. */
  readonly source: 'profile' | 'policy-http' | 'policy-grpc' | 'policy-inbound';
  readonly counts: string;
  /** ServiceProfile routes on the client also count actual requests (retries included). */
  readonly actualCounts?: string;
  readonly latency: Quantiles;
  /** Latency series are in seconds (policy families); multiply by 1000. */
  readonly seconds: boolean;
}

const PROFILE_BY = 'dst, rt_route';
const POLICY_BY = 'parent_name, route_kind, route_name';
const INBOUND_POLICY_BY = 'srv_name, route_kind, route_name';

/** A regex alternative of literal names (Kubernetes names: only dots need escaping). */
const alternatives = (names: readonly string[]) => names.map((n) => n.replaceAll('.', '\\.')).join('|');

/** The logical authority of a Service, whatever the cluster domain and port: `svc.ns.svc.<domain>[:port]`. */
function dstMatcher(namespace: string, services: readonly string[]): Matcher {
  return { label: 'dst', op: '=~', value: `(${alternatives(services)})\\.${namespace.replaceAll('.', '\\.')}\\.svc\\..+` };
}

function quantiles(bucket: string, sel: string, w: string, by: string): Quantiles {
  const q = (p: string) => `histogram_quantile(${p}, sum(irate(${bucket}${sel}[${w}])) by (le, ${by}))`;
  return { p50: q('0.5'), p95: q('0.95'), p99: q('0.99') };
}

export function routeQueries(q: RouteQuery): RouteFamilyQueries[] {
  const w = q.window;
  const t = q.target;
  const src = t.type === 'service' ? (t.namespace ? [eq('namespace', t.namespace)] : []) : sourceMatchers(t);
  if (!q.to) {
    // A Service as the target: its profile's routes where its pods served them (by the authority they were sent to).
    const dst: Matcher[] = t.type === 'service' && t.name && t.namespace ? [dstMatcher(t.namespace, [t.name])] : [];
    const profile = selector([...src, eq('direction', 'inbound'), ...dst]);
    const out: RouteFamilyQueries[] = [
      {
        source: 'profile',
        counts: `sum(increase(route_response_total${profile}[${w}])) by (${PROFILE_BY}, classification)`,
        latency: quantiles('route_response_latency_ms_bucket', profile, w, PROFILE_BY),
        seconds: false,
      },
    ];
    if (q.target.type === 'service') return out;
    const policy = selector([
      ...src,
      eq('direction', 'inbound'),
      { label: 'target_port', op: '!=', value: String(q.adminPort) },
      { label: 'route_kind', op: '!~', value: 'default|' },
    ]);
    out.push({
      source: 'policy-inbound',
      counts: `sum(increase(response_total${policy}[${w}])) by (${INBOUND_POLICY_BY}, classification)`,
      latency: quantiles('response_latency_ms_bucket', policy, w, INBOUND_POLICY_BY),
      seconds: false,
    });
    return out;
  }
  const { namespace, services } = q.to;
  const names = alternatives(services);
  const profile = selector([...src, eq('direction', 'outbound'), dstMatcher(namespace, services)]);
  const parent: Matcher[] = [...src, eq('parent_kind', 'Service'), eq('parent_namespace', namespace), { label: 'parent_name', op: '=~', value: names }];
  const http = selector(parent);
  return [
    {
      source: 'profile',
      counts: `sum(increase(route_response_total${profile}[${w}])) by (${PROFILE_BY}, classification)`,
      actualCounts: `sum(increase(route_actual_response_total${profile}[${w}])) by (${PROFILE_BY}, classification)`,
      latency: quantiles('route_response_latency_ms_bucket', profile, w, PROFILE_BY),
      seconds: false,
    },
    {
      source: 'policy-http',
      counts: `sum(increase(outbound_http_route_request_statuses_total${http}[${w}])) by (${POLICY_BY}, http_status, error)`,
      latency: quantiles('outbound_http_route_request_duration_seconds_bucket', http, w, POLICY_BY),
      seconds: true,
    },
    {
      source: 'policy-grpc',
      counts: `sum(increase(outbound_grpc_route_request_statuses_total${http}[${w}])) by (${POLICY_BY}, grpc_status, error)`,
      latency: quantiles('outbound_grpc_route_request_duration_seconds_bucket', http, w, POLICY_BY),
      seconds: true,
    },
  ];
}
