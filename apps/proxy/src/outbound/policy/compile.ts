// An OutboundPolicy (docs/reference/linkerd-contracts.md §1.7, §1.8, §1.10) compiled once per update into what a request needs: the
// protocol, the HTTP or gRPC routes as match candidates (match.ts), each rule's filters, timeouts, retry policy
// and backend distribution, the opaque route, and failure accrual. Backends are left as specs with a stable key;
// the target (outbound/policy/target.ts) binds each key to one balancer, so an update that keeps a backend keeps its
// balancer, endpoints and connections. A rule that cannot be compiled (a bad regex) is dropped with a reason.
import { durationToMillis, type destination, type duration, type grpcRoute, type httpRoute, type metadata, type outbound } from '@trellis/proto';
import type { BreakerOptions } from '../../balance/breaker.ts';
import { grpcMatcher, hostMatcher, httpMatcher, InvalidMatchError, type Candidate, type Matcher } from '../../policy/match.ts';
import { headerModifier, prefixesOf, ratioOf, redirectOf, type HeaderModifier, type Redirect } from '../../policy/route-filters.ts';

/** group/kind/namespace/name/section/port of a resource, or kind "default" with its name. */
export interface MetaLabels {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly section: string;
  readonly port: string;
}

export function metaLabels(m: metadata.Metadata | undefined, fallback = 'unknown'): MetaLabels {
  const k = m?.kind;
  if (k?.$case === 'resource') {
    const r = k.value;
    return { group: r.group, kind: r.kind, namespace: r.namespace, name: r.name, section: r.section, port: r.port ? String(r.port) : '' };
  }
  return { group: '', kind: 'default', namespace: '', name: k?.$case === 'default' ? k.value : fallback, section: '', port: '' };
}

export interface QueueSpec {
  readonly capacity: number;
  readonly failfastMs: number;
}

export type BackendSpec =
  | { readonly kind: 'balancer'; readonly key: string; readonly meta: MetaLabels; readonly path: string; readonly queue: QueueSpec; readonly defaultRttMs: number; readonly decayMs: number }
  | { readonly kind: 'forward'; readonly key: string; readonly meta: MetaLabels; readonly addr: destination.WeightedAddr; readonly queue: QueueSpec }
  /** No dispatcher: the controller's "invalid backend", answered by its failure-injector filter. */
  | { readonly kind: 'none'; readonly key: string; readonly meta: MetaLabels; readonly queue: QueueSpec };


export type Filter =
  | { readonly kind: 'fail'; readonly status: number; readonly grpc: boolean; readonly message: string; readonly ratio: number }
  | { readonly kind: 'request-headers'; readonly mod: HeaderModifier }
  | { readonly kind: 'response-headers'; readonly mod: HeaderModifier }
  | { readonly kind: 'redirect'; readonly redirect: Redirect };

export interface RouteBackendSpec {
  readonly backend: BackendSpec;
  readonly weight: number;
  readonly filters: readonly Filter[];
}

export interface DistributionSpec {
  readonly kind: 'empty' | 'first' | 'random';
  readonly backends: readonly RouteBackendSpec[];
}

export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  readonly jitter: number;
}

export interface RetrySpec {
  readonly maxRetries: number;
  readonly maxRequestBytes: number;
  /** HTTP: retry on these statuses. */
  readonly statusRanges: readonly (readonly [number, number])[];
  /** gRPC: retry on these codes. */
  readonly grpcCodes: ReadonlySet<number>;
  /** Per-attempt response-headers timeout; 0: none. */
  readonly timeoutMs: number;
  readonly backoff: Backoff;
}

export interface Timeouts {
  /** Whole stream; 0: none. */
  readonly requestMs: number;
  /** From the end of the request to the end of the response; 0: none. */
  readonly responseMs: number;
  /** No request end, response head or response data for this long; 0: none. */
  readonly idleMs: number;
}

export interface RuleSpec {
  readonly route: MetaLabels;
  readonly filters: readonly Filter[];
  readonly distribution: DistributionSpec;
  readonly timeouts: Timeouts;
  readonly retry: RetrySpec | undefined;
  readonly allowL5dHeaders: boolean;
  /** Prefixes of the rule's prefix path matches, for a redirect's prefix replacement. */
  readonly prefixes: readonly string[];
}

export type PolicyProtocol = 'detect' | 'opaque' | 'http1' | 'http2' | 'grpc' | 'tls';

export interface OpaqueSpec {
  readonly route: MetaLabels;
  /** Forbidden or Invalid filters: refuse the connection with this reason. */
  readonly refuse: string | undefined;
  readonly distribution: DistributionSpec;
}

export interface CompiledPolicy {
  readonly parent: MetaLabels;
  readonly protocol: PolicyProtocol;
  /** Detect: how long to sniff before treating the connection as opaque (the proxy's own when undefined). */
  readonly detectTimeoutMs: number | undefined;
  readonly http1: readonly Candidate<RuleSpec>[];
  readonly http2: readonly Candidate<RuleSpec>[];
  readonly grpc: readonly Candidate<RuleSpec>[];
  readonly opaque: OpaqueSpec | undefined;
  readonly breaker: BreakerOptions | undefined;
  /** Why rules were dropped (bad regexes and the like), for the log. */
  readonly problems: readonly string[];
}

/** Linkerd's retry defaults when only the l5d-retry-* headers ask for retries (docs/reference/linkerd-proxy.md §5). */
export const DEFAULT_RETRY_BACKOFF: Backoff = { minMs: 25, maxMs: 250, jitter: 1 };
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
const DEFAULT_QUEUE: QueueSpec = { capacity: 100, failfastMs: 3_000 };

const ms = (d: duration.Duration | undefined, dflt = 0): number => (d ? durationToMillis(d) : dflt);

function queueOf(q: outbound.Queue | undefined): QueueSpec {
  if (!q) return DEFAULT_QUEUE;
  return { capacity: q.capacity || DEFAULT_QUEUE.capacity, failfastMs: ms(q.failfastTimeout, DEFAULT_QUEUE.failfastMs) };
}

function backendSpec(b: outbound.Backend | undefined): BackendSpec | string {
  if (!b) return 'route backend without a backend';
  const meta = metaLabels(b.metadata);
  const queue = queueOf(b.queue);
  if (!b.kind) return { kind: 'none', key: `none|${JSON.stringify(meta)}`, meta, queue };
  if (b.kind.$case === 'forward') {
    const a = b.kind.value;
    return { kind: 'forward', key: `forward|${JSON.stringify(a.addr)}|${JSON.stringify(a.tlsIdentity)}|${JSON.stringify(a.protocolHint)}|${queue.capacity}|${queue.failfastMs}`, meta, addr: a, queue };
  }
  const bal = b.kind.value;
  const d = bal.discovery?.kind;
  if (d?.$case !== 'dst' || !d.value.path) return 'balancer without a Destination path';
  const load = bal.load?.value;
  const defaultRttMs = ms(load?.defaultRtt, 30);
  const decayMs = ms(load?.decay, 10_000);
  return { kind: 'balancer', key: `balancer|${d.value.path}|${queue.capacity}|${queue.failfastMs}|${defaultRttMs}|${decayMs}`, meta, path: d.value.path, queue, defaultRttMs, decayMs };
}

function httpFilter(f: outbound.HttpRoute_Filter): Filter {
  const k = f.kind;
  switch (k?.$case) {
    case 'failureInjector':
      return { kind: 'fail', status: k.value.status || 500, grpc: false, message: k.value.message || 'failure injected', ratio: ratioOf(k.value.ratio) };
    case 'requestHeaderModifier':
      return { kind: 'request-headers', mod: headerModifier(k.value) };
    case 'responseHeaderModifier':
      return { kind: 'response-headers', mod: headerModifier(k.value) };
    case 'redirect':
      return { kind: 'redirect', redirect: redirectOf(k.value) };
    default:
      throw new InvalidMatchError('filter without a kind');
  }
}

function grpcFilter(f: outbound.GrpcRoute_Filter): Filter {
  const k = f.kind;
  if (k?.$case === 'failureInjector') return { kind: 'fail', status: k.value.code, grpc: true, message: k.value.message || 'failure injected', ratio: ratioOf(k.value.ratio) };
  if (k?.$case === 'requestHeaderModifier') return { kind: 'request-headers', mod: headerModifier(k.value) };
  throw new InvalidMatchError('filter without a kind');
}

type AnyRouteBackend = { backend: outbound.Backend | undefined; filters: (outbound.HttpRoute_Filter | outbound.GrpcRoute_Filter)[] };
type AnyDistribution = {
  kind:
    | { $case: 'empty'; value: object }
    | { $case: 'firstAvailable'; value: { backends: AnyRouteBackend[] } }
    | { $case: 'randomAvailable'; value: { backends: { backend: AnyRouteBackend | undefined; weight: number }[] } }
    | undefined;
};

function distribution(d: AnyDistribution | undefined, filter: (f: never) => Filter): DistributionSpec {
  const k = d?.kind;
  const one = (rb: AnyRouteBackend | undefined, weight: number): RouteBackendSpec => {
    const b = backendSpec(rb?.backend);
    if (typeof b === 'string') throw new InvalidMatchError(b);
    return { backend: b, weight, filters: (rb?.filters ?? []).map((f) => filter(f as never)) };
  };
  if (!k || k.$case === 'empty') return { kind: 'empty', backends: [] };
  if (k.$case === 'firstAvailable') return { kind: 'first', backends: k.value.backends.map((b) => one(b, 1)) };
  return { kind: 'random', backends: k.value.backends.map((b) => one(b.backend, b.weight)).filter((b) => b.weight > 0) };
}

function backoffOf(b: outbound.ExponentialBackoff | undefined): Backoff {
  if (!b) return DEFAULT_RETRY_BACKOFF;
  const minMs = ms(b.minBackoff, DEFAULT_RETRY_BACKOFF.minMs);
  return { minMs, maxMs: Math.max(minMs, ms(b.maxBackoff, DEFAULT_RETRY_BACKOFF.maxMs)), jitter: Math.max(0, b.jitterRatio) };
}

/** gRPC condition fields are numbered after the codes they name. */
function grpcCodes(c: outbound.GrpcRoute_Retry_Conditions | undefined): Set<number> {
  const s = new Set<number>();
  if (c?.cancelled) s.add(1);
  if (c?.deadineExceeded) s.add(4);
  if (c?.resourceExhausted) s.add(8);
  if (c?.internal) s.add(13);
  if (c?.unavailable) s.add(14);
  return s;
}

function retrySpec(r: outbound.HttpRoute_Retry | outbound.GrpcRoute_Retry | undefined, grpc: boolean): RetrySpec | undefined {
  if (!r) return undefined;
  const statusRanges = grpc ? [] : ((r as outbound.HttpRoute_Retry).conditions?.statusRanges ?? []).map((x) => [x.start, x.end || x.start] as const);
  return {
    maxRetries: r.maxRetries,
    maxRequestBytes: r.maxRequestBytes || DEFAULT_MAX_REQUEST_BYTES,
    statusRanges,
    grpcCodes: grpc ? grpcCodes((r as outbound.GrpcRoute_Retry).conditions) : new Set(),
    timeoutMs: ms(r.timeout),
    backoff: backoffOf(r.backoff),
  };
}

function timeoutsOf(t: httpRoute.Timeouts | undefined, requestTimeout: duration.Duration | undefined): Timeouts {
  return { requestMs: ms(t?.request), responseMs: ms(t?.response, ms(requestTimeout)), idleMs: ms(t?.idle) };
}

/** How HTTP and gRPC routes differ when compiled: their matches, their filters and their retry conditions. */
interface RouteKind<M, F> {
  readonly matcher: (m: M) => Matcher;
  readonly filter: (f: F) => Filter;
  readonly grpc: boolean;
  readonly prefixes: (matches: readonly M[]) => string[];
}

const HTTP: RouteKind<httpRoute.HttpRouteMatch, outbound.HttpRoute_Filter> = { matcher: httpMatcher, filter: httpFilter, grpc: false, prefixes: prefixesOf };
const GRPC: RouteKind<grpcRoute.GrpcRouteMatch, outbound.GrpcRoute_Filter> = { matcher: grpcMatcher, filter: grpcFilter, grpc: true, prefixes: () => [] };

type AnyRoute<M, F> = {
  metadata: metadata.Metadata | undefined;
  hosts: httpRoute.HostMatch[];
  rules: {
    matches: M[];
    filters: F[];
    backends: unknown;
    timeouts: httpRoute.Timeouts | undefined;
    requestTimeout: duration.Duration | undefined;
    retry: outbound.HttpRoute_Retry | outbound.GrpcRoute_Retry | undefined;
    allowL5dRequestHeaders: boolean;
  }[];
};

/** Compiles routes; a rule or route that cannot be used is left out and named in `problems`. */
function compileRoutes<M, F>(routes: readonly AnyRoute<M, F>[], kind: RouteKind<M, F>, problems: string[]): Candidate<RuleSpec>[] {
  const out: Candidate<RuleSpec>[] = [];
  for (const r of routes) {
    const route = metaLabels(r.metadata);
    try {
      const host = hostMatcher(r.hosts);
      const rules: { matches: Matcher[]; rule: RuleSpec }[] = [];
      for (const rule of r.rules) {
        try {
          rules.push({
            matches: rule.matches.map((m) => kind.matcher(m)),
            rule: {
              route,
              filters: rule.filters.map((f) => kind.filter(f)),
              distribution: distribution(rule.backends as AnyDistribution | undefined, kind.filter as (f: never) => Filter),
              timeouts: timeoutsOf(rule.timeouts, rule.requestTimeout),
              retry: retrySpec(rule.retry, kind.grpc),
              allowL5dHeaders: rule.allowL5dRequestHeaders,
              prefixes: kind.prefixes(rule.matches),
            },
          });
        } catch (err) {
          problems.push(`route ${route.name}: ${(err as Error).message}`);
        }
      }
      out.push({ host, rules });
    } catch (err) {
      problems.push(`route ${route.name}: ${(err as Error).message}`);
    }
  }
  return out;
}

const httpRoutes = (routes: readonly outbound.HttpRoute[], problems: string[]) => compileRoutes(routes, HTTP, problems);
const grpcRoutes = (routes: readonly outbound.GrpcRoute[], problems: string[]) => compileRoutes(routes, GRPC, problems);

/** The first opaque route's first rule (the controller sends one); its filters refuse the connection. */
function opaqueSpec(routes: readonly outbound.OpaqueRoute[], problems: string[]): OpaqueSpec | undefined {
  const r = routes[0];
  const rule = r?.rules[0];
  if (!r || !rule) return undefined;
  const route = metaLabels(r.metadata);
  let refuse: string | undefined;
  for (const f of rule.filters) {
    if (f.kind?.$case === 'forbidden') refuse ??= 'forbidden by policy';
    else if (f.kind?.$case === 'invalid') refuse ??= `invalid route: ${f.kind.value.message}`;
  }
  try {
    return { route, refuse, distribution: distribution(rule.backends as AnyDistribution | undefined, () => ({ kind: 'request-headers', mod: { add: [], set: [], remove: [] } })) };
  } catch (err) {
    problems.push(`opaque route ${route.name}: ${(err as Error).message}`);
    return { route, refuse: refuse ?? (err as Error).message, distribution: { kind: 'empty', backends: [] } };
  }
}

function breakerOf(fa: outbound.FailureAccrual | undefined): BreakerOptions | undefined {
  const k = fa?.kind;
  if (k?.$case !== 'consecutiveFailures' || k.value.maxFailures === 0) return undefined;
  const b = backoffOf(k.value.backoff);
  return { maxFailures: k.value.maxFailures, minPenaltyMs: b.minMs, maxPenaltyMs: b.maxMs, jitter: Math.min(1, b.jitter) };
}

export function compilePolicy(p: outbound.OutboundPolicy): CompiledPolicy {
  const problems: string[] = [];
  const parent = metaLabels(p.metadata);
  const k = p.protocol?.kind;
  const base = { parent, problems, http1: [], http2: [], grpc: [], opaque: undefined, breaker: undefined, detectTimeoutMs: undefined };
  switch (k?.$case) {
    case 'detect':
      return {
        ...base,
        protocol: 'detect',
        detectTimeoutMs: k.value.timeout ? ms(k.value.timeout) : undefined,
        http1: httpRoutes(k.value.http1?.routes ?? [], problems),
        http2: httpRoutes(k.value.http2?.routes ?? [], problems),
        opaque: opaqueSpec(k.value.opaque?.routes ?? [], problems),
        // Detect carries accrual on its HTTP/1 and HTTP/2 parts; they are the same Service's setting.
        breaker: breakerOf(k.value.http1?.failureAccrual ?? k.value.http2?.failureAccrual),
      };
    case 'http1':
      return { ...base, protocol: 'http1', http1: httpRoutes(k.value.routes, problems), breaker: breakerOf(k.value.failureAccrual) };
    case 'http2':
      return { ...base, protocol: 'http2', http2: httpRoutes(k.value.routes, problems), breaker: breakerOf(k.value.failureAccrual) };
    case 'grpc':
      return { ...base, protocol: 'grpc', grpc: grpcRoutes(k.value.routes, problems), breaker: breakerOf(k.value.failureAccrual) };
    case 'opaque':
      return { ...base, protocol: 'opaque', opaque: opaqueSpec(k.value.routes, problems) };
    case 'tls':
      // TLS routes (by SNI) are not implemented here: the connection is forwarded as opaque TCP.
      problems.push('TLS routes are not supported; forwarding as opaque TCP');
      return { ...base, protocol: 'tls' };
    default:
      problems.push('policy without a protocol');
      return { ...base, protocol: 'detect' };
  }
}
