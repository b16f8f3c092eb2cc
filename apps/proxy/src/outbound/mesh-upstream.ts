// A meshed outbound target: what discovery resolved an original destination (or, in ingress mode, a name) to.
// It holds the target's routes (chosen again on each watch update, outbound/routes.ts), picks endpoints from the
// balancer of the backend a request goes to (P2C over peak-EWMA), and owns the endpoint client its requests and
// opaque streams reach those endpoints through. As the router of its connections' HTTP requests it hands each to
// the route stage (outbound/http-route.ts).
import { FailFastError } from '../balance/errors.ts';
import { pickBackend, type LogicalTarget, type MeshEndpoint, type Resolution } from '../discovery/outbound.ts';
import type { ConnRouter, Exchange } from '../http/exchange.ts';
import { RetryBudget } from '../profiles/budget.ts';
import { LogicalRouteSeries, type RouteMetricFamilies, type RouteSeries } from '../profiles/metrics.ts';
import { DEFAULT_BUDGET, routeForTarget, type CompiledRoute } from '../profiles/routes.ts';
import { requestFacts } from '../policy/match.ts';
import type { EndpointClient, MeshPick, PickObserver } from './endpoint-client.ts';
import { routeRequest, type RoutedTarget } from './http-route.ts';
import { OpaqueRouteRefusedError } from './policy/errors.ts';
import type { RouteObserver } from './policy/metrics.ts';
import type { BoundDistribution, PolicyTarget } from './policy/target.ts';
import { chooseRoutes, type TargetRoutes } from './routes.ts';

/** What discovery resolved a meshed target to: a profile's service or endpoint, or a policy. */
export type Upstream = Exclude<Resolution, { kind: 'forward' }> | { readonly kind: 'policy'; readonly target: PolicyTarget; readonly profile: LogicalTarget | undefined };

const noop = (): void => undefined;

export type { MeshPick, PickObserver } from './endpoint-client.ts';

export class MeshUpstream implements ConnRouter, RoutedTarget {
  readonly logical: LogicalTarget | undefined;
  readonly client: EndpointClient;
  readonly policyObserver: RouteObserver | undefined;
  #policy: PolicyTarget | undefined;
  readonly #endpoint: MeshEndpoint | undefined;
  readonly #resolution: Upstream;
  readonly #routeMetrics: RouteMetricFamilies | undefined;
  #series: LogicalRouteSeries | undefined;
  #budget: RetryBudget | undefined;
  #released = false;
  /** Chosen when resolved and again on each profile update or policy adoption; read by every request. */
  #routes: TargetRoutes;
  readonly #stopWatching: () => void;

  constructor(r: Upstream, client: EndpointClient, routeMetrics?: RouteMetricFamilies) {
    this.#resolution = r;
    this.client = client;
    this.logical = r.kind === 'logical' ? r.target : r.kind === 'policy' ? r.profile : undefined;
    this.#policy = r.kind === 'policy' ? r.target : undefined;
    this.policyObserver = routeMetrics?.policy;
    this.#endpoint = r.kind === 'endpoint' ? r.endpoint : undefined;
    this.#routeMetrics = routeMetrics;
    this.#routes = chooseRoutes(this.#policy, this.logical, this.#endpoint);
    const logical = this.logical;
    this.#stopWatching = logical ? logical.onUpdate(() => (this.#routes = chooseRoutes(this.#policy, logical, this.#endpoint))) : noop;
  }

  /** The routes the target's requests take now (outbound/routes.ts). */
  get routes(): TargetRoutes {
    return this.#routes;
  }

  /** The route stage takes each HTTP request of the target's connections. */
  route(ex: Exchange): void {
    routeRequest(ex, this);
  }

  /** The profile route a request takes (undefined: no route matched, or no profile). */
  profileRoute(method: string, url: string): CompiledRoute | undefined {
    return this.logical ? routeForTarget(this.logical.profile, method, url) : undefined;
  }

  /** Route metric series (route_request_total and friends), found once per route. */
  series(route: CompiledRoute | undefined): RouteSeries | undefined {
    if (!this.#routeMetrics || !this.logical) return undefined;
    this.#series ??= new LogicalRouteSeries(this.#routeMetrics, 'outbound', this.logical.logical);
    return this.#series.of(route);
  }

  /** The profile's retry budget, shared by every request to this target. */
  budget(): RetryBudget {
    this.#budget ??= new RetryBudget(this.logical?.profile.budget ?? DEFAULT_BUDGET);
    return this.#budget;
  }

  /** The policy routing this target's requests now; undefined when there is none or a profile takes precedence. */
  get policy(): PolicyTarget | undefined {
    const r = this.#routes;
    return r.kind === 'policy' ? r.policy : undefined;
  }

  /** Whether the target has a policy at all (one a profile with routes overrides counts). */
  get hasPolicy(): boolean {
    return this.#policy !== undefined;
  }

  /** A policy that arrived after the target was resolved: new requests follow it (outbound/policy/resolve.ts). */
  adoptPolicy(t: PolicyTarget): void {
    if (this.#policy || this.#released) return t.release();
    this.#policy = t;
    this.#routes = chooseRoutes(t, this.logical, this.#endpoint);
  }

  /** Whether the profile or the policy marks the target opaque (no HTTP detection). */
  get opaque(): boolean {
    const profileOpaque = this.logical?.profile.opaque ?? false;
    return profileOpaque || (this.policy?.opaque ?? false);
  }

  /** Opaque traffic (and HTTP/1 tunnels) of a policy target: the opaque route, else the first HTTP rule. */
  #policyDistribution(target: PolicyTarget, opaque: boolean): BoundDistribution | undefined {
    if (opaque) {
      const r = target.opaqueRoute;
      if (r?.spec.refuse) throw new OpaqueRouteRefusedError(`connection to ${target.addr} refused: ${r.spec.refuse}`);
      return r?.distribution;
    }
    return target.rule(requestFacts('GET', '/', {}), 'h1', false)?.distribution;
  }

  /**
   * A ready endpoint (waits while the backend has none; fails fast with 504 after the failfast timeout).
   * `request`, when given, is counted in the picked endpoint's metric series.
   */
  async pick(request?: PickObserver, opaque = this.opaque): Promise<MeshPick> {
    if (this.#endpoint) {
      this.client.observe(request, this.#endpoint);
      return { me: this.#endpoint, firstByte: noop, done: noop };
    }
    const policy = this.policy;
    const backend = policy ? this.#policyDistribution(policy, opaque)?.pick()?.backend : pickBackend((this.logical as LogicalTarget).split);
    if (!backend) throw new FailFastError(policy ? policy.addr : (this.logical as LogicalTarget).logical, 0);
    const p = await backend.balancer.acquire();
    this.client.observe(request, p.endpoint);
    return { me: p.endpoint, firstByte: () => p.firstByte(), done: (ok) => p.done(ok) };
  }

  /** Closes the pooled connections and releases the discovery watches (nothing uses this target any more). */
  release(): void {
    this.#released = true;
    this.#stopWatching();
    // An adopted policy is this upstream's to release; one it was resolved with goes with the resolution below.
    if (this.#policy && this.#resolution.kind !== 'policy') this.#policy.release();
    this.client.close();
    if (this.#resolution.kind === 'policy') this.#resolution.profile?.release();
    if (this.#resolution.kind === 'logical' || this.#resolution.kind === 'policy') this.#resolution.target.release();
    else this.#resolution.release();
  }
}
