// Where a meshed outbound request goes once discovery resolved its original destination to a service (or a
// known pod): an endpoint picked by the balancer (P2C over peak-EWMA) of the profile's backend, reached over its
// pooled HTTP/2 connection (HTTP/1 upgraded with l5d-orig-proto), else over a pooled HTTP/1 agent or HTTP/2
// session whose connections are mTLS to the endpoint's identity (plain TCP when it has none). Connections are
// kept per endpoint, so a TLS handshake happens per connection, never per request.
import { Agent, type ClientRequestArgs } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { openOpaque, pickBackend, type LogicalTarget, type MeshEndpoint, type Resolution } from '../discovery/outbound.ts';
import type { Endpoint } from '../discovery/endpoints.ts';
import { FailFastError } from '../balance/errors.ts';
import { ConnectTimeoutError } from '../errors.ts';
import { RetryBudget } from '../profiles/budget.ts';
import type { RouteMetricFamilies, RouteSeries } from '../profiles/metrics.ts';
import { DEFAULT_BUDGET, routeFor, type CompiledRoute } from '../profiles/routes.ts';
import { asPriorKnowledgeH2 } from '../tls/h2-prior-knowledge.ts';
import type { MeshTls, PeerTarget } from '../tls/mesh-tls.ts';
import type { OutboundEndpointMetrics } from './endpoint-metrics.ts';
import type { EndpointClient, MeshPick, PickObserver } from './endpoint-client.ts';
import { OpaqueRouteRefusedError } from './policy/errors.ts';
import { forwardPolicy, type Downstream } from './policy/http.ts';
import { requestFacts } from '../policy/match.ts';
import type { RouteObserver } from './policy/metrics.ts';
import { chooseRoutes, type TargetRoutes } from './routes.ts';
import type { BoundDistribution, PolicyTarget } from './policy/target.ts';

/** What discovery resolved a meshed target to: a profile's service or endpoint, or a policy. */
export type Upstream = Exclude<Resolution, { kind: 'forward' }> | { readonly kind: 'policy'; readonly target: PolicyTarget; readonly profile: LogicalTarget | undefined };

const noop = (): void => undefined;

function peerOf(e: Endpoint, identity: string): PeerTarget {
  return { addr: e.addr, host: e.ip, port: e.port, serverId: identity, ...(e.serverName ? { serverName: e.serverName } : {}) };
}

export type { MeshPick, PickObserver } from './endpoint-client.ts';

export class MeshUpstream implements EndpointClient {
  readonly logical: LogicalTarget | undefined;
  #policy: PolicyTarget | undefined;
  readonly #endpoint: MeshEndpoint | undefined;
  readonly #resolution: Upstream;
  readonly #policyMetrics: RouteObserver | undefined;
  readonly #connectTimeoutMs: number;
  readonly #tls: MeshTls;
  readonly #isLocal: (ip: string) => boolean;
  readonly #agents = new Map<string, Agent>();
  readonly #sessions = new Map<string, ClientHttp2Session>();
  readonly #routeMetrics: RouteMetricFamilies | undefined;
  readonly #series = new Map<CompiledRoute | undefined, RouteSeries>();
  readonly #endpointMetrics: OutboundEndpointMetrics | undefined;
  #budget: RetryBudget | undefined;
  #released = false;
  /** Chosen when resolved and again on each profile update or policy adoption; read by every request. */
  #routes: TargetRoutes;
  readonly #stopWatching: () => void;

  constructor(r: Upstream, tls: MeshTls, isLocal: (ip: string) => boolean, routeMetrics?: RouteMetricFamilies, endpointMetrics?: OutboundEndpointMetrics, connectTimeoutMs = 1_000) {
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#resolution = r;
    this.logical = r.kind === 'logical' ? r.target : r.kind === 'policy' ? r.profile : undefined;
    this.#policy = r.kind === 'policy' ? r.target : undefined;
    this.#policyMetrics = routeMetrics?.policy;
    this.#endpoint = r.kind === 'endpoint' ? r.endpoint : undefined;
    this.#tls = tls;
    this.#isLocal = isLocal;
    this.#routeMetrics = routeMetrics;
    this.#endpointMetrics = endpointMetrics;
    this.#routes = chooseRoutes(this.#policy, this.logical, this.#endpoint);
    const logical = this.logical;
    this.#stopWatching = logical ? logical.onUpdate(() => (this.#routes = chooseRoutes(this.#policy, logical, this.#endpoint))) : noop;
  }

  /** The routes the target's requests take now (outbound/routes.ts). */
  get routes(): TargetRoutes {
    return this.#routes;
  }

  /** The profile route a request takes (undefined: no route matched, or no profile). */
  route(method: string, url: string): CompiledRoute | undefined {
    if (!this.logical) return undefined;
    let path = url;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) path = new URL(url).pathname;
    const q = path.indexOf('?');
    return routeFor(this.logical.profile, { method, path: q >= 0 ? path.slice(0, q) : path });
  }

  /** Route metric series (route_request_total and friends), found once per route. */
  series(route: CompiledRoute | undefined): RouteSeries | undefined {
    if (!this.#routeMetrics || !this.logical) return undefined;
    let s = this.#series.get(route);
    if (!s) this.#series.set(route, (s = this.#routeMetrics.route('outbound', this.logical.logical, route?.labels ?? {})));
    return s;
  }

  /** The profile's retry budget, shared by every request to this target. */
  budget(): RetryBudget {
    this.#budget ??= new RetryBudget(this.logical?.profile.budget ?? DEFAULT_BUDGET);
    return this.#budget;
  }

  /**
   * The policy routing this target's new requests (outbound/policy/http.ts); undefined when there is none, or
   * while its ServiceProfile has routes or dst_overrides, which take precedence.
   */
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

  /** Routes an HTTP request by the target's policy (the caller checked `policy`). */
  forwardPolicy(d: Downstream): void {
    forwardPolicy(d, this, this.policy as PolicyTarget, { observer: this.#policyMetrics });
  }

  /** The exchange reached `me`: it is counted in that endpoint's series. */
  observe(request: PickObserver, me: MeshEndpoint): void {
    this.#observe(request, me);
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
      this.#observe(request, this.#endpoint);
      return { me: this.#endpoint, firstByte: noop, done: noop };
    }
    const policy = this.policy;
    if (policy) {
      const b = this.#policyDistribution(policy, opaque)?.pick();
      if (!b) throw new FailFastError(policy.addr, 0);
      const p = await b.backend.balancer.acquire();
      this.#observe(request, p.endpoint);
      return { me: p.endpoint, firstByte: () => p.firstByte(), done: (ok) => p.done(ok) };
    }
    const target = this.logical as LogicalTarget;
    const backend = pickBackend(target.split);
    if (!backend) throw new FailFastError(target.logical, 0);
    const p = await backend.balancer.acquire();
    this.#observe(request, p.endpoint);
    return { me: p.endpoint, firstByte: () => p.firstByte(), done: (ok) => p.done(ok) };
  }

  #observe(request: PickObserver | undefined, me: MeshEndpoint): void {
    if (request && this.#endpointMetrics) request.atEndpoint(this.#endpointMetrics.http(me.endpoint), me.endpoint);
  }

  /** A TCP connection to `e`, counted in its tcp_* series (peer="dst"). */
  #dial(e: Endpoint): Socket {
    const s = netConnect({ host: e.ip, port: e.port, noDelay: true });
    this.#endpointMetrics?.track(e, s);
    // The outbound connect timeout (504), as for pooled HTTP/2 endpoints and the original destination.
    const ms = this.#connectTimeoutMs;
    if (ms > 0) {
      const timer = setTimeout(() => s.destroy(new ConnectTimeoutError(e.addr, ms)), ms);
      const clear = () => clearTimeout(timer);
      s.once('connect', clear);
      s.once('close', clear);
    }
    return s;
  }

  /** mTLS to `e` as `id` over a counted TCP connection. */
  #tlsSocket(e: Endpoint, id: string): TLSSocket {
    const raw = this.#dial(e);
    try {
      return this.#tls.socket(peerOf(e, id), raw);
    } catch (err) {
      raw.destroy();
      throw err;
    }
  }

  /** The identity to verify on connections to `e` (none for our own pod's IPs, as Linkerd's is_local). */
  #identity(e: Endpoint): string | undefined {
    return e.identity && !this.#isLocal(e.ip) ? e.identity : undefined;
  }

  /** A keep-alive HTTP/1 agent for an endpoint without the h2 hint (or for requests that cannot be upgraded). */
  agent(me: MeshEndpoint): Agent {
    const e = me.endpoint;
    let a = this.#agents.get(e.addr);
    if (!a) {
      a = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 60_000 });
      const id = this.#identity(e);
      // Node's typings declare createConnection as a property; assigning it is what Node calls.
      a.createConnection = ((_o: ClientRequestArgs) => (id ? this.#tlsSocket(e, id) : this.#dial(e))) as Agent['createConnection'];
      this.#agents.set(e.addr, a);
    }
    return a;
  }

  /** An HTTP/2 session for native HTTP/2 (gRPC) requests: the endpoint's pooled one, else one kept here. */
  async h2Session(me: MeshEndpoint): Promise<ClientHttp2Session> {
    if (me.h2) return me.h2.session();
    const e = me.endpoint;
    const existing = this.#sessions.get(e.addr);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const id = this.#identity(e);
    const session = h2connect(`http://${e.addr}`, {
      createConnection: () => (id ? asPriorKnowledgeH2(this.#tlsSocket(e, id)) : this.#dial(e)) as Duplex,
    });
    const forget = () => {
      if (this.#sessions.get(e.addr) === session) this.#sessions.delete(e.addr);
    };
    session.on('error', forget);
    session.once('close', forget);
    session.once('goaway', forget);
    this.#sessions.set(e.addr, session);
    return session;
  }

  /** Closes the pooled connections and releases the discovery watches (nothing uses this target any more). */
  release(): void {
    this.#released = true;
    this.#stopWatching();
    // An adopted policy is this upstream's to release; one it was resolved with goes with the resolution below.
    if (this.#policy && this.#resolution.kind !== 'policy') this.#policy.release();
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
    if (this.#resolution.kind === 'policy') this.#resolution.profile?.release();
    if (this.#resolution.kind === 'logical' || this.#resolution.kind === 'policy') this.#resolution.target.release();
    else this.#resolution.release();
  }

  /** A TCP stream for opaque traffic to a picked endpoint (opaque transport / mTLS / plain, outbound.ts). */
  opaqueStream(me: MeshEndpoint): Promise<Duplex> {
    const e = me.endpoint;
    const em = this.#endpointMetrics;
    const track = em ? (s: Socket) => em.track(e, s) : undefined;
    if (this.#isLocal(e.ip)) return openOpaque({ ...e, identity: undefined }, this.#tls, undefined, track);
    return openOpaque(e, this.#tls, undefined, track);
  }
}
