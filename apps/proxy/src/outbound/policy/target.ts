// One original destination routed by its OutboundPolicy (docs/reference/linkerd-proxy.md §2, §5): the compiled policy, and a
// balancer per backend (a Destination/Get stream for `balancer` backends, the one address for `forward`), kept
// across watch updates while a backend stays named. An update swaps the compiled policy for new requests only:
// a request holds the rule and backends it started with, and a backend dropped by the update closes its
// connections gracefully (HTTP/2 GOAWAY lets streams in flight finish).
import type { outbound } from '@trellis/proto';
import type { BreakerOptions } from '../../balance/breaker.ts';
import type { Discovery, Lease } from '../../discovery/discovery.ts';
import { toEndpoint } from '../../discovery/endpoints.ts';
import { Backend, ForwardBackend, type MeshEndpoint, type OutboundOptions } from '../../discovery/outbound.ts';
import { Balancer } from '../../balance/p2c.ts';
import { WeightedSplit } from '../../profiles/split.ts';
import { compilePolicy, type BackendSpec, type CompiledPolicy, type DistributionSpec, type Filter, type MetaLabels, type OpaqueSpec, type RuleSpec } from './compile.ts';
import { selectRule, type Candidate, type RequestFacts } from '../../policy/match.ts';
import type { PolicyWatch } from '../../policy/policy-discovery.ts';

/** A backend without a dispatcher (an invalid backend ref): its filters answer; without one, it fails at once. */
export class UnroutableBackend {
  readonly authority: string;
  readonly balancer: Balancer<MeshEndpoint>;
  constructor(name: string) {
    this.authority = name;
    this.balancer = new Balancer<MeshEndpoint>({ name: `backend ${name || 'invalid'} (no endpoints to route to)`, failfastMs: 0 });
  }
  /** Taken in its turn, so its share of requests fails as the controller meant. */
  get available(): boolean {
    return true;
  }
  close(): void {
    this.balancer.close(new Error('backend closed'));
  }
}

export type PolicyBackend = Backend | ForwardBackend | UnroutableBackend;

export interface BoundBackend {
  readonly spec: BackendSpec;
  readonly backend: PolicyBackend;
  readonly filters: readonly Filter[];
}

/** A distribution with its balancers: picks a backend that can take a request now, else the first. */
export class BoundDistribution {
  readonly kind: DistributionSpec['kind'];
  readonly backends: readonly BoundBackend[];
  readonly #split: WeightedSplit<BoundBackend> | undefined;

  constructor(kind: DistributionSpec['kind'], backends: readonly BoundBackend[], weights: readonly number[], random: () => number) {
    this.kind = kind;
    this.backends = backends;
    this.#split = kind === 'random' ? new WeightedSplit(backends.map((b, i) => ({ weight: weights[i] ?? 1, backend: b })), random) : undefined;
  }

  /** undefined: no backends at all (an empty distribution). */
  pick(): BoundBackend | undefined {
    if (this.#split) return this.#split.pick((b) => b.backend.available) ?? this.#split.backends[0]?.backend;
    for (const b of this.backends) if (b.backend.available) return b;
    return this.backends[0];
  }

  /** Whether any backend could take a request now (a retry gives up when none can). */
  get available(): boolean {
    return this.backends.some((b) => b.backend.available);
  }
}

export interface BoundRule {
  readonly spec: RuleSpec;
  readonly distribution: BoundDistribution;
}

export interface BoundOpaque {
  readonly spec: OpaqueSpec;
  readonly distribution: BoundDistribution;
}

interface Bound {
  readonly compiled: CompiledPolicy;
  readonly http1: readonly Candidate<BoundRule>[];
  readonly http2: readonly Candidate<BoundRule>[];
  readonly grpc: readonly Candidate<BoundRule>[];
  readonly opaque: BoundOpaque | undefined;
}

export interface PolicyLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export class PolicyTarget {
  /** The original destination, "ip:port". */
  readonly addr: string;
  #bound: Bound;
  readonly #backends = new Map<string, PolicyBackend>();
  readonly #metas = new Map<string, MetaLabels>();
  readonly #lease: Lease<PolicyWatch<outbound.OutboundPolicy>>;
  readonly #discovery: Discovery;
  readonly #o: OutboundOptions & { readonly onRelease?: (t: PolicyTarget) => void };
  readonly #log: PolicyLog;
  readonly #random: () => number;
  readonly #onUpdate: (p: outbound.OutboundPolicy) => void;

  constructor(
    addr: string,
    first: outbound.OutboundPolicy,
    lease: Lease<PolicyWatch<outbound.OutboundPolicy>>,
    discovery: Discovery,
    o: OutboundOptions & { readonly log: PolicyLog; readonly random?: () => number; readonly onRelease?: (t: PolicyTarget) => void },
  ) {
    this.addr = addr;
    this.#lease = lease;
    this.#discovery = discovery;
    this.#o = o;
    this.#log = o.log;
    this.#random = o.random ?? Math.random;
    this.#bound = this.#bind(first);
    this.#onUpdate = (p) => {
      this.#bound = this.#bind(p);
    };
    lease.value.on('update', this.#onUpdate);
  }

  get policy(): CompiledPolicy {
    return this.#bound.compiled;
  }

  get parent(): MetaLabels {
    return this.#bound.compiled.parent;
  }

  /** A gRPC policy (its metrics are the outbound_grpc_* families). */
  get grpc(): boolean {
    return this.#bound.compiled.protocol === 'grpc';
  }

  /** Opaque TCP: the policy says so, or has TLS routes (which are forwarded as TCP). */
  get opaque(): boolean {
    const p = this.#bound.compiled.protocol;
    return p === 'opaque' || p === 'tls';
  }

  /** The rule for an HTTP request (undefined: no route matches, 404), from the routes of its protocol. */
  rule(facts: RequestFacts, version: 'h1' | 'h2', grpc: boolean): BoundRule | undefined {
    const b = this.#bound;
    const routes = b.compiled.protocol === 'grpc' ? b.grpc : b.compiled.protocol === 'http1' ? b.http1 : b.compiled.protocol === 'http2' ? b.http2 : version === 'h2' ? b.http2 : b.http1;
    // A gRPC policy sees gRPC requests; anything else on it has no route.
    if (b.compiled.protocol === 'grpc' && !grpc) return undefined;
    return selectRule(routes, facts);
  }

  /** The opaque route (undefined: the policy has none; the caller forwards to the original destination). */
  get opaqueRoute(): BoundOpaque | undefined {
    return this.#bound.opaque;
  }

  #backendFor(spec: BackendSpec, breaker: BreakerOptions | undefined): PolicyBackend {
    let b = this.#backends.get(spec.key);
    if (b) return b;
    const o: OutboundOptions = { ...this.#o, failfastMs: spec.queue.failfastMs, queueCapacity: spec.queue.capacity, ...(breaker ? { breaker } : {}) };
    if (spec.kind === 'balancer') b = new Backend(spec.path, this.#discovery, { ...o, defaultRttMs: spec.defaultRttMs, decayMs: spec.decayMs });
    else if (spec.kind === 'none') b = new UnroutableBackend(spec.meta.name);
    else {
      const e = toEndpoint(spec.addr, {});
      if (!e) throw new Error('forward backend without an address');
      b = new ForwardBackend(e, o);
    }
    this.#backends.set(spec.key, b);
    this.#metas.set(spec.key, spec.meta);
    return b;
  }

  #distribution(d: DistributionSpec, used: Set<string>, breaker: BreakerOptions | undefined): BoundDistribution {
    const bound: BoundBackend[] = [];
    const weights: number[] = [];
    for (const rb of d.backends) {
      try {
        bound.push({ spec: rb.backend, backend: this.#backendFor(rb.backend, breaker), filters: rb.filters });
        weights.push(rb.weight);
        used.add(rb.backend.key);
      } catch (err) {
        this.#log.warn({ target: this.addr, err: (err as Error).message }, 'Ignoring an invalid policy backend');
      }
    }
    return new BoundDistribution(d.kind, bound, weights, this.#random);
  }

  #bind(p: outbound.OutboundPolicy): Bound {
    const compiled = compilePolicy(p);
    if (compiled.problems.length > 0) this.#log.warn({ target: this.addr, problems: compiled.problems }, 'Outbound policy has rules that cannot be used');
    // The breaker setting is read while binding backends; a change of it rebuilds them.
    const previous = this.#bound as Bound | undefined;
    if (previous && JSON.stringify(previous.compiled.breaker) !== JSON.stringify(compiled.breaker)) {
      for (const b of this.#backends.values()) b.close();
      this.#backends.clear();
    }
    const used = new Set<string>();
    const bindRoutes = (routes: readonly Candidate<RuleSpec>[]): Candidate<BoundRule>[] =>
      routes.map((r) => ({ host: r.host, rules: r.rules.map((x) => ({ matches: x.matches, rule: { spec: x.rule, distribution: this.#distribution(x.rule.distribution, used, compiled.breaker) } })) }));
    const bound: Bound = {
      compiled,
      http1: bindRoutes(compiled.http1),
      http2: bindRoutes(compiled.http2),
      grpc: bindRoutes(compiled.grpc),
      opaque: compiled.opaque ? { spec: compiled.opaque, distribution: this.#distribution(compiled.opaque.distribution, used, compiled.breaker) } : undefined,
    };
    for (const [key, b] of this.#backends) {
      if (used.has(key)) continue;
      b.close();
      this.#backends.delete(key);
      this.#metas.delete(key);
    }
    return bound;
  }

  /** Each live backend's metadata and balancer, for the endpoints gauge. */
  *balancers(): Generator<{ readonly meta: MetaLabels; readonly balancer: PolicyBackend['balancer'] }> {
    for (const [key, b] of this.#backends) {
      const meta = this.#metas.get(key);
      if (meta) yield { meta, balancer: b.balancer };
    }
  }

  /** Backends with a live balancer, for tests and /debug. */
  get backendCount(): number {
    return this.#backends.size;
  }

  release(): void {
    this.#lease.value.off('update', this.#onUpdate);
    this.#o.onRelease?.(this);
    for (const b of this.#backends.values()) b.close();
    this.#backends.clear();
    this.#metas.clear();
    this.#lease.release();
  }
}
