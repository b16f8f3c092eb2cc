// HTTPRoutes and GRPCRoutes attached to a Service port, as OutboundPolicy routes (contracts §1.10, §4):
// each rule's backendRefs become a weighted random distribution of Service balancers (a backend that cannot
// be used fails its share of requests with 500 and a message, Linkerd's "invalid" backend); a rule without
// backendRefs goes to the Service itself. Route annotations for retry and timeouts replace the Service's.
import type { httpRoute as hr, metadata, outbound } from '@trellis/proto';
import { resource } from '../discovery/profile.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import type { ServiceRecord } from '../index/model.ts';
import { grpcRetry, httpRetry, isEmptyTimeouts, timeouts as toTimeouts, type OutboundAnnotations, type TimeoutConfig } from './annotations.ts';
import { byAgeThenName, isServiceRef, type BackendRef, type RouteFilter, type RouteRecord } from './routes.ts';

/** The routes that apply to a Service port for a client in `sourceNs`, oldest first. */
export function routesFor(index: ClusterIndex, svc: ServiceRecord, port: number, sourceNs: string | undefined): { http: RouteRecord[]; grpc: RouteRecord[] } {
  const attached = index.routesOfService(svc.namespace, svc.name).filter(
    (r) =>
      r.error === undefined &&
      // Routes in the Service's namespace apply to every client; routes elsewhere only to their own namespace's clients.
      (r.namespace === svc.namespace || r.namespace === sourceNs) &&
      r.parentRefs.some((p) => isServiceRef(p) && p.namespace === svc.namespace && p.name === svc.name && (p.port === undefined || p.port === port)),
  );
  attached.sort(byAgeThenName);
  return { http: attached.filter((r) => r.kind === 'HTTPRoute'), grpc: attached.filter((r) => r.kind === 'GRPCRoute') };
}

const routeMeta = (r: RouteRecord): metadata.Metadata => ({ kind: { $case: 'resource', value: { group: r.group, kind: r.kind, name: r.name, namespace: r.namespace, section: '', port: 0 } } });

function httpFilter(f: RouteFilter): outbound.HttpRoute_Filter {
  switch (f.type) {
    case 'requestHeaderModifier':
      return { kind: { $case: 'requestHeaderModifier', value: f.value } };
    case 'responseHeaderModifier':
      return { kind: { $case: 'responseHeaderModifier', value: f.value } };
    case 'redirect':
      return { kind: { $case: 'redirect', value: f.value } };
  }
}

function grpcFilters(filters: readonly RouteFilter[]): outbound.GrpcRoute_Filter[] {
  return filters.flatMap((f): outbound.GrpcRoute_Filter[] => (f.type === 'requestHeaderModifier' ? [{ kind: { $case: 'requestHeaderModifier', value: f.value } }] : []));
}

type Resolved = { readonly backend: outbound.Backend; readonly filters: readonly RouteFilter[] } | { readonly backend: outbound.Backend; readonly invalid: string };

/** A backendRef as a Backend, or the reason it fails requests. */
function resolveBackend(index: ClusterIndex, b: BackendRef, balancer: (ns: string, name: string, port: number) => outbound.Backend, queue: outbound.Queue): Resolved {
  const invalid = (message: string, meta: metadata.Metadata): Resolved => ({ backend: { metadata: meta, queue, kind: undefined }, invalid: message });
  const defaultInvalid: metadata.Metadata = { kind: { $case: 'default', value: 'invalid' } };
  if (!isServiceRef(b)) return invalid(`unsupported backend type ${b.group} ${b.kind}`, defaultInvalid);
  if (b.port === undefined || b.port === 0) return invalid(`missing port for backend Service ${b.name}`, defaultInvalid);
  if (b.invalid !== undefined) return invalid(b.invalid, defaultInvalid);
  const meta = resource('core', 'Service', b.name, b.namespace, b.port);
  if (!index.service(b.namespace, b.name)) return invalid(`Service not found ${b.name}`, meta);
  return { backend: balancer(b.namespace, b.name, b.port), filters: b.filters };
}

/** Timeouts of a rule: the route's annotations, else (policy.linkerd.io) spec.rules[].timeouts.request, else the Service's. */
function ruleTimeouts(route: OutboundAnnotations, specRequestMs: number | undefined, service: TimeoutConfig): TimeoutConfig {
  const own: TimeoutConfig = route.timeouts.requestMs === undefined && specRequestMs !== undefined ? { ...route.timeouts, requestMs: specRequestMs } : route.timeouts;
  return isEmptyTimeouts(own) ? service : own;
}

export interface RouteContext {
  readonly index: ClusterIndex;
  readonly svc: ServiceRecord;
  /** The Service port's own backend (rules without backendRefs). */
  readonly defaultBackend: outbound.Backend;
  readonly balancer: (ns: string, name: string, port: number) => outbound.Backend;
  readonly queue: outbound.Queue;
  readonly allowL5dRequestHeaders: boolean;
}

/** A rule's backends: the Service port itself when it names none, else each backendRef by its weight. */
function distribution<F>(ctx: RouteContext, refs: readonly BackendRef[], filtersOf: (res: Resolved) => F[]) {
  if (refs.length === 0) {
    return { kind: { $case: 'firstAvailable' as const, value: { backends: [{ backend: ctx.defaultBackend, filters: [] as F[], requestTimeout: undefined }] } } };
  }
  const backends = refs.map((b) => {
    const res = resolveBackend(ctx.index, b, ctx.balancer, ctx.queue);
    return { weight: b.weight, backend: { backend: res.backend, filters: filtersOf(res), requestTimeout: undefined } };
  });
  return { kind: { $case: 'randomAvailable' as const, value: { backends } } };
}

export function outboundHttpRoute(ctx: RouteContext, r: RouteRecord): outbound.HttpRoute {
  const svcAnn = ctx.svc.outbound;
  return {
    metadata: routeMeta(r),
    hosts: [...r.hosts],
    rules: r.rules.map((rule): outbound.HttpRoute_Rule => {
      const t: hr.Timeouts = toTimeouts(ruleTimeouts(r.annotations, rule.requestTimeoutMs, svcAnn.timeouts));
      const backends: outbound.HttpRoute_Distribution = distribution(ctx, rule.backends, (res) =>
        'invalid' in res ? [{ kind: { $case: 'failureInjector', value: { status: 500, message: res.invalid, ratio: undefined } } }] : res.filters.map(httpFilter),
      );
      return {
        matches: [...rule.httpMatches],
        filters: rule.filters.map(httpFilter),
        backends,
        requestTimeout: t.request,
        timeouts: t,
        retry: httpRetry(r.annotations.httpRetry ?? svcAnn.httpRetry),
        allowL5dRequestHeaders: ctx.allowL5dRequestHeaders,
      };
    }),
  };
}

export function outboundGrpcRoute(ctx: RouteContext, r: RouteRecord): outbound.GrpcRoute {
  const svcAnn = ctx.svc.outbound;
  return {
    metadata: routeMeta(r),
    hosts: [...r.hosts],
    rules: r.rules.map((rule): outbound.GrpcRoute_Rule => {
      const t: hr.Timeouts = toTimeouts(ruleTimeouts(r.annotations, undefined, svcAnn.timeouts));
      // Linkerd fails an invalid gRPC backend with the same 500 it uses for HTTP.
      const backends: outbound.GrpcRoute_Distribution = distribution(ctx, rule.backends, (res) =>
        'invalid' in res ? [{ kind: { $case: 'failureInjector', value: { code: 500, message: res.invalid, ratio: undefined } } }] : grpcFilters(res.filters),
      );
      return {
        matches: [...rule.grpcMatches],
        filters: grpcFilters(rule.filters),
        backends,
        requestTimeout: t.request,
        timeouts: t,
        retry: grpcRetry(r.annotations.grpcRetry ?? svcAnn.grpcRetry),
        allowL5dRequestHeaders: ctx.allowL5dRequestHeaders,
      };
    }),
  };
}
