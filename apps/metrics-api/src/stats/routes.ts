// Per-route stats of one resource: its inbound routes (what its pods served), or with `to` its outbound routes
// towards another resource's Services. Rows are named by (Service or Server, route); requests that matched no route
// are the row `[DEFAULT]`, as in Linkerd's `viz routes`. Routes a ServiceProfile declares get their row even without
// traffic in the window; policy routes (HTTPRoute, GRPCRoute) get one once they carried a request.
import type { RouteSources } from '../kube/route-sources.ts';
import type { PrometheusClient, Sample } from '../prometheus/client.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type { Target } from './queries.ts';
import { routeQueries, type RouteFamilyQueries } from './route-queries.ts';
import type { ResourceType } from './resources.ts';
import type { Window } from './window.ts';

export const DEFAULT_ROUTE = '[DEFAULT]';

/** Types a route stat is asked for: something with pods of its own, or a Service (its profile's routes). */
export const ROUTE_TYPES: readonly ResourceType[] = ['deployment', 'statefulset', 'daemonset', 'job', 'pod', 'service'];

export interface RouteStats {
  readonly successCount: number;
  readonly failureCount: number;
  /** Null without responses. */
  readonly successRate: number | null;
  readonly rps: number;
  /** Milliseconds; null where the histogram had nothing in the window. */
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
}

export interface RouteRow {
  /** The route's name, or `[DEFAULT]` for the requests that matched none. */
  readonly route: string;
  /** Where the route comes from: `ServiceProfile`, `HTTPRoute`, `GRPCRoute`, or `default` for `[DEFAULT]`. */
  readonly kind: string;
  /** The Service the route belongs to, or (inbound policy routes) the Server that admitted the requests. */
  readonly parent: { readonly kind: 'Service' | 'Server'; readonly namespace: string; readonly name: string };
  /** The logical authority of ServiceProfile routes (the proxy's `dst`), empty for policy routes. */
  readonly authority: string;
  /** What the application saw; null when the window saw no request. */
  readonly stats: RouteStats | null;
  /** Outbound ServiceProfile routes: what the proxy sent, retries included (Linkerd's "actual"). */
  readonly actual: { readonly successCount: number; readonly failureCount: number; readonly successRate: number | null; readonly rps: number } | null;
}

export interface RoutesRequest {
  readonly type: ResourceType;
  readonly name: string;
  readonly namespace: string;
  readonly to?: { readonly type: ResourceType; readonly name: string; readonly namespace: string };
  readonly window: Window;
}

export interface RoutesContext {
  readonly prometheus: PrometheusClient;
  readonly routeSources: RouteSources;
  readonly adminPort: number;
  readonly now: () => number;
}

/** gRPC statuses Linkerd classifies as failures by default, by the names the policy families carry. */
const GRPC_FAILURES = new Set(['UNKNOWN', 'DEADLINE_EXCEEDED', 'PERMISSION_DENIED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS']);

interface Acc {
  route: string;
  kind: string;
  parent: RouteRow['parent'];
  authority: string;
  success: number;
  failure: number;
  seen: boolean;
  actual?: { success: number; failure: number };
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** The Service an authority names (`web-svc.emojivoto.svc.cluster.local:80` → web-svc), or the authority itself. */
function serviceOf(dst: string): { name: string; namespace?: string } {
  const m = /^([^.]+)\.([^.]+)\.svc\./.exec(dst);
  return m ? { name: m[1] as string, namespace: m[2] as string } : { name: dst };
}

export async function routeSummary(ctx: RoutesContext, req: RoutesRequest): Promise<RouteRow[]> {
  if (!ROUTE_TYPES.includes(req.type)) throw new BadRequestError(`routes are served by workloads, pods and services: "${req.type}" is not one of deploy, sts, ds, job, po, svc`);
  if (req.to && !ROUTE_TYPES.includes(req.to.type)) throw new BadRequestError(`invalid to: routes go to workloads, pods and services, not a ${req.to.type}`);
  if (req.to && req.type === 'service') throw new BadRequestError('a service sends no requests of its own: "to" needs a workload or pod as the resource');
  const target: Target = { type: req.type, name: req.name, namespace: req.namespace };
  // Routes belong to Services: the target's own (inbound) or the --to resource's (outbound).
  const side = req.to ?? req;
  const [services] = await Promise.all([ctx.routeSources.servicesOf(side.type, side.namespace, side.name), req.to ? ctx.routeSources.servicesOf(req.type, req.namespace, req.name).then(() => undefined) : undefined]);
  if (req.to && services.length === 0) throw new NotFoundError(`no Service in namespace ${req.to.namespace} selects the pods of ${req.to.type} ${req.to.name}: routes are per Service`);
  const families = routeQueries({ target, to: req.to ? { namespace: req.to.namespace, services } : undefined, window: req.window.text, adminPort: ctx.adminPort });
  const time = ctx.now();
  const [profiles, answers] = await Promise.all([
    services.length ? ctx.routeSources.profileRoutes(side.namespace, services) : Promise.resolve([]),
    Promise.all(families.map(async (f) => ({ f, ...(await queryFamily(ctx.prometheus, f, time)) }))),
  ]);

  const rows = new Map<string, Acc>();
  const row = (parent: RouteRow['parent'], route: string, kind: string, authority: string): Acc => {
    const key = `${parent.kind}\u0000${parent.namespace}\u0000${parent.name}\u0000${route}`;
    let a = rows.get(key);
    if (!a) rows.set(key, (a = { route, kind, parent, authority, success: 0, failure: 0, seen: false, p50: null, p95: null, p99: null }));
    if (!a.authority) a.authority = authority;
    return a;
  };
  for (const p of profiles) {
    const parent = { kind: 'Service' as const, namespace: side.namespace, name: p.service };
    for (const r of p.routes) row(parent, r, 'ServiceProfile', p.fqdn);
    row(parent, DEFAULT_ROUTE, 'default', p.fqdn);
  }

  for (const { f, counts, actual, latency } of answers) {
    const named = (s: Sample): Acc => {
      const l = s.labels;
      if (f.source === 'profile') {
        const dst = l['dst'] ?? '';
        const svc = serviceOf(dst);
        const rt = l['rt_route'] ?? '';
        const a = row({ kind: 'Service', namespace: svc.namespace ?? side.namespace, name: svc.name }, rt || DEFAULT_ROUTE, rt ? 'ServiceProfile' : 'default', dst);
        // The authority requests were sent to (with its port) says more than the profile's name.
        if (dst) a.authority = dst;
        return a;
      }
      const isDefault = (l['route_kind'] ?? 'default') === 'default' || (l['route_kind'] ?? '') === '';
      const route = isDefault ? DEFAULT_ROUTE : (l['route_name'] ?? '');
      const kind = isDefault ? 'default' : (l['route_kind'] ?? '');
      if (f.source === 'policy-inbound') return row({ kind: 'Server', namespace: req.namespace, name: l['srv_name'] ?? '' }, route, kind, '');
      return row({ kind: 'Service', namespace: (req.to as { namespace: string }).namespace, name: l['parent_name'] ?? '' }, route, kind, '');
    };
    const failed = (s: Sample): boolean => {
      const l = s.labels;
      if (f.source === 'profile' || f.source === 'policy-inbound') return l['classification'] === 'failure';
      if ((l['error'] ?? '') !== '') return true;
      if (f.source === 'policy-grpc') return GRPC_FAILURES.has(l['grpc_status'] ?? '');
      return /^5\d\d$/.test(l['http_status'] ?? '');
    };
    for (const s of counts) {
      const a = named(s);
      a.seen = true;
      if (failed(s)) a.failure += finite(s.value);
      else a.success += finite(s.value);
    }
    for (const s of actual) {
      const a = named(s);
      a.actual ??= { success: 0, failure: 0 };
      if (failed(s)) a.actual.failure += finite(s.value);
      else a.actual.success += finite(s.value);
    }
    for (const [list, field] of [[latency.p50, 'p50'], [latency.p95, 'p95'], [latency.p99, 'p99']] as const) {
      for (const s of list) {
        if (!Number.isFinite(s.value)) continue;
        const a = named(s);
        a.seen = true;
        a[field] ??= f.seconds ? s.value * 1000 : s.value;
      }
    }
  }

  const seconds = req.window.seconds;
  return [...rows.values()]
    .map((a): RouteRow => ({
      route: a.route,
      kind: a.kind,
      parent: a.parent,
      authority: a.authority,
      stats: a.seen ? counted(a.success, a.failure, seconds, { p50: a.p50, p95: a.p95, p99: a.p99 }) : null,
      actual: a.actual ? (({ latencyMs: _l, ...rest }) => rest)(counted(a.actual.success, a.actual.failure, seconds, { p50: null, p95: null, p99: null })) : null,
    }))
    .sort((x, y) => PARENT_ORDER[x.parent.kind] - PARENT_ORDER[y.parent.kind] || x.parent.name.localeCompare(y.parent.name) || byRoute(x.route, y.route));
}

/** Services' routes first, then the Servers' (inbound policy routes). */
const PARENT_ORDER = { Service: 0, Server: 1 } as const;

/** Routes by name, `[DEFAULT]` last. */
function byRoute(a: string, b: string): number {
  if (a === b) return 0;
  if (a === DEFAULT_ROUTE) return 1;
  if (b === DEFAULT_ROUTE) return -1;
  return a.localeCompare(b);
}

/** Whole responses, as Linkerd counts them (increase() extrapolates). */
function counted(successRaw: number, failureRaw: number, seconds: number, latencyMs: RouteStats['latencyMs']): RouteStats {
  const success = Math.round(successRaw);
  const failure = Math.round(failureRaw);
  const total = success + failure;
  return { successCount: success, failureCount: failure, successRate: total > 0 ? success / total : null, rps: total / seconds, latencyMs };
}

async function queryFamily(p: PrometheusClient, f: RouteFamilyQueries, time: number) {
  const [counts, actual, p50, p95, p99] = await Promise.all([
    p.query(f.counts, time),
    f.actualCounts ? p.query(f.actualCounts, time) : Promise.resolve([]),
    p.query(f.latency.p50, time),
    p.query(f.latency.p95, time),
    p.query(f.latency.p99, time),
  ]);
  return { counts, actual, latency: { p50, p95, p99 } };
}

const finite = (v: number) => (Number.isFinite(v) ? v : 0);
