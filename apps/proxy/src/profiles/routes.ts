// ServiceProfile routes from GetProfile (docs/reference/linkerd-contracts.md §1.5, §3.5): the first route whose RequestMatch matches
// wins; each route carries its response classes (first match wins, none ⇒ default classification), whether it
// is retryable, its timeout and its metric labels (rt_*). Path regexes are matched against the whole path.
import { durationToMillis, httpTypes, type destination } from '@trellis/proto';

/**
 * The header Linkerd's outbound sets on requests routed by a ServiceProfile: the service's logical name, which
 * the server's inbound looks the profile up by.
 */
export const L5D_DST_CANONICAL = 'l5d-dst-canonical';

export interface RequestFacts {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
}

export interface CompiledRoute {
  /** `rt_route="..."` etc., rendered once. */
  readonly labels: Readonly<Record<string, string>>;
  readonly name: string;
  readonly retryable: boolean;
  /** 0: none. */
  readonly timeoutMs: number;
  matches(req: RequestFacts): boolean;
  /** true when the response is a failure under this route's classes (or the default). */
  isFailure(status: number, grpcStatus: number | undefined): boolean;
}

export interface RetryBudgetParams {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly ttlMs: number;
}

export interface CompiledProfile {
  readonly routes: readonly CompiledRoute[];
  readonly budget: RetryBudgetParams;
  readonly dstOverrides: readonly { readonly authority: string; readonly weight: number }[];
  readonly opaque: boolean;
  readonly fqn: string;
}

export const DEFAULT_BUDGET: RetryBudgetParams = { ratio: 0.2, minPerSecond: 10, ttlMs: 10_000 };

/** gRPC codes Linkerd counts as failures by default (docs/reference/linkerd-proxy.md §4 "Response classification"). */
const GRPC_FAILURES = new Set([2, 4, 7, 13, 14, 15]);

export function defaultIsFailure(status: number, grpcStatus: number | undefined): boolean {
  if (grpcStatus !== undefined && grpcStatus >= 0) return GRPC_FAILURES.has(grpcStatus);
  return status >= 500 && status <= 599;
}

const METHOD_NAMES: Record<number, string> = {
  [httpTypes.HttpMethod_Registered.GET]: 'GET',
  [httpTypes.HttpMethod_Registered.POST]: 'POST',
  [httpTypes.HttpMethod_Registered.PUT]: 'PUT',
  [httpTypes.HttpMethod_Registered.DELETE]: 'DELETE',
  [httpTypes.HttpMethod_Registered.PATCH]: 'PATCH',
  [httpTypes.HttpMethod_Registered.OPTIONS]: 'OPTIONS',
  [httpTypes.HttpMethod_Registered.CONNECT]: 'CONNECT',
  [httpTypes.HttpMethod_Registered.HEAD]: 'HEAD',
  [httpTypes.HttpMethod_Registered.TRACE]: 'TRACE',
};

type Matcher<T> = (x: T) => boolean;
const never = () => false;

export function compileRequestMatch(m: destination.RequestMatch | undefined): Matcher<RequestFacts> {
  const c = m?.match;
  switch (c?.$case) {
    case 'all': {
      const parts = c.value.matches.map(compileRequestMatch);
      return (r) => parts.every((p) => p(r));
    }
    case 'any': {
      const parts = c.value.matches.map(compileRequestMatch);
      return (r) => parts.some((p) => p(r));
    }
    case 'not': {
      const inner = compileRequestMatch(c.value);
      return (r) => !inner(r);
    }
    case 'path': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${c.value.regex})$`);
      } catch {
        // An invalid regex (validated by the webhook, but never trust input) matches nothing.
        return never;
      }
      return (r) => re.test(r.path);
    }
    case 'method': {
      const t = c.value.type;
      const name = t?.$case === 'registered' ? METHOD_NAMES[t.value] : t?.$case === 'unregistered' ? t.value.toUpperCase() : undefined;
      return name === undefined ? never : (r) => r.method.toUpperCase() === name;
    }
    default:
      return never;
  }
}

type ResponseFacts = { status: number };

export function compileResponseMatch(m: destination.ResponseMatch | undefined): Matcher<ResponseFacts> {
  const c = m?.match;
  switch (c?.$case) {
    case 'all': {
      const parts = c.value.matches.map(compileResponseMatch);
      return (r) => parts.every((p) => p(r));
    }
    case 'any': {
      const parts = c.value.matches.map(compileResponseMatch);
      return (r) => parts.some((p) => p(r));
    }
    case 'not': {
      const inner = compileResponseMatch(c.value);
      return (r) => !inner(r);
    }
    case 'status': {
      // One bound unset (0) means a single status.
      const min = c.value.min || c.value.max;
      const max = c.value.max || c.value.min;
      return (r) => r.status >= min && r.status <= max;
    }
    default:
      return never;
  }
}

export function compileRoute(r: destination.Route): CompiledRoute {
  const matches = compileRequestMatch(r.condition);
  const classes = r.responseClasses.map((c) => ({ match: compileResponseMatch(c.condition), failure: c.isFailure }));
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.metricsLabels)) labels[`rt_${k}`] = v;
  return {
    labels,
    name: r.metricsLabels['route'] ?? '',
    retryable: r.isRetryable,
    timeoutMs: r.timeout ? durationToMillis(r.timeout) : 0,
    matches,
    isFailure(status, grpcStatus) {
      for (const c of classes) if (c.match({ status })) return c.failure;
      return defaultIsFailure(status, grpcStatus);
    },
  };
}

export function compileProfile(p: destination.DestinationProfile): CompiledProfile {
  const b = p.retryBudget;
  return {
    // Linkerd ignores HTTP routes of an opaque target.
    routes: p.opaqueProtocol ? [] : p.routes.map(compileRoute),
    budget: b
      ? { ratio: b.retryRatio, minPerSecond: b.minRetriesPerSecond, ttlMs: b.ttl ? durationToMillis(b.ttl) : DEFAULT_BUDGET.ttlMs }
      : DEFAULT_BUDGET,
    dstOverrides: p.dstOverrides.filter((d) => d.weight > 0 && d.authority).map((d) => ({ authority: d.authority, weight: d.weight })),
    opaque: p.opaqueProtocol,
    fqn: p.fullyQualifiedName,
  };
}

/** The first route matching the request, or undefined (the default route). */
export function routeFor(profile: CompiledProfile, req: RequestFacts): CompiledRoute | undefined {
  for (const r of profile.routes) if (r.matches(req)) return r;
  return undefined;
}

/** The route of a request by its method and request target (origin or absolute form); the query is not matched. */
export function routeForTarget(profile: CompiledProfile, method: string, target: string): CompiledRoute | undefined {
  if (profile.routes.length === 0) return undefined;
  let path = target;
  if (target.charCodeAt(0) !== 0x2f && /^[a-z][a-z0-9+.-]*:\/\//i.test(target)) path = new URL(target).pathname;
  const q = path.indexOf('?');
  return routeFor(profile, { method, path: q >= 0 ? path.slice(0, q) : path });
}
