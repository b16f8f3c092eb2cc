// Outbound resolution for one original destination (docs/reference/linkerd-proxy.md §0, §5): GetProfile decides whether the
// target is a logical service (its fully-qualified name), a known endpoint (a pod IP: mTLS straight to it), or
// unknown (forward to the original destination, plaintext). A logical service is split over its backends
// (dst_overrides, else the service itself), each a P2C balancer fed by its own Destination/Get stream, whose
// endpoints hold one pooled HTTP/2 connection each (mTLS when they have an identity).
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { H2Endpoint } from '../balance/h2-endpoint.ts';
import type { BreakerOptions } from '../balance/breaker.ts';
import { Balancer, type BalancerOptions } from '../balance/p2c.ts';
import { compileProfile, type CompiledProfile } from '../profiles/routes.ts';
import { WeightedSplit } from '../profiles/split.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';
import { connectOpaqueTransport, headerFor, type SessionProtocol } from '../tls/transport.ts';
import type { destination } from '@trellis/proto';
import type { Discovery, Lease, ProfileWatch, ResolvedEndpoints } from './discovery.ts';
import { toEndpoint, type Endpoint } from './endpoints.ts';

export interface MeshEndpoint {
  readonly endpoint: Endpoint;
  /** The pooled HTTP/2 connection, when the endpoint is meshed with the h2 hint (orig-proto upgrade). */
  readonly h2: H2Endpoint | undefined;
}

export class Backend {
  readonly authority: string;
  readonly balancer: Balancer<MeshEndpoint>;
  readonly #lease: Lease<ResolvedEndpoints>;
  readonly #members = new Map<string, MeshEndpoint>();
  readonly #onAdd: (e: Endpoint) => void;
  readonly #onRemove: (e: Endpoint) => void;

  constructor(authority: string, discovery: Discovery, o: OutboundOptions) {
    this.authority = authority;
    this.balancer = new Balancer<MeshEndpoint>(balancerOptions(authority, o));
    this.#lease = discovery.resolve(authority);
    const set = this.#lease.value;
    const retire = (me: MeshEndpoint) => me.h2?.close();
    this.#onAdd = (e) => {
      const me: MeshEndpoint = { endpoint: e, h2: e.hint === 'h2' && !o.isLocal?.(e.ip) ? endpointClient(e, o, (ready) => this.balancer.setReady(e.addr, ready)) : undefined };
      this.#members.set(e.addr, me);
      // A replaced or removed endpoint's connection closes only after its last request is done.
      this.balancer.add(e.addr, me, true, retire);
    };
    this.#onRemove = (e) => {
      this.balancer.remove(e.addr);
      this.#members.delete(e.addr);
    };
    for (const e of set.all()) this.#onAdd(e);
    set.on('add', this.#onAdd);
    set.on('remove', this.#onRemove);
  }

  get ready(): boolean {
    return this.balancer.size > 0;
  }

  /** Whether a request would be dispatched now (an endpoint is connected and its breaker admits). */
  get available(): boolean {
    return this.balancer.available;
  }

  close(): void {
    const set = this.#lease.value;
    set.off('add', this.#onAdd);
    set.off('remove', this.#onRemove);
    for (const m of this.#members.values()) m.h2?.close();
    this.#members.clear();
    this.#lease.release();
  }
}

function balancerOptions(name: string, o: OutboundOptions): BalancerOptions {
  return {
    name,
    failfastMs: o.failfastMs ?? 3_000,
    ...(o.queueCapacity !== undefined ? { queueCapacity: o.queueCapacity } : {}),
    ...(o.defaultRttMs !== undefined ? { defaultRttMs: o.defaultRttMs } : {}),
    ...(o.decayMs !== undefined ? { decayMs: o.decayMs } : {}),
    ...(o.breaker ? { breaker: o.breaker } : {}),
  };
}

/**
 * A policy backend that forwards to one address (docs/reference/linkerd-contracts.md §1.10 Backend.forward): a balancer of that one
 * endpoint, so its queue, failfast and failure accrual behave as a service's do.
 */
export class ForwardBackend {
  readonly authority: string;
  readonly balancer: Balancer<MeshEndpoint>;
  readonly #me: MeshEndpoint;

  constructor(e: Endpoint, o: OutboundOptions) {
    this.authority = e.addr;
    this.balancer = new Balancer<MeshEndpoint>(balancerOptions(e.addr, o));
    const h2 = e.hint === 'h2' && !o.isLocal?.(e.ip) ? endpointClient(e, o, (ready) => this.balancer.setReady(e.addr, ready)) : undefined;
    this.#me = { endpoint: e, h2 };
    this.balancer.add(e.addr, this.#me, true);
  }

  get ready(): boolean {
    return true;
  }

  get available(): boolean {
    return this.balancer.available;
  }

  close(): void {
    this.balancer.remove(this.authority);
    this.#me.h2?.close();
  }
}

function endpointClient(e: Endpoint, o: OutboundOptions, onReady: (ready: boolean) => void): H2Endpoint {
  const track = o.track;
  return new H2Endpoint({
    target: { addr: e.addr, ip: e.ip, port: e.port, identity: e.identity, serverName: e.serverName },
    tls: o.tls,
    onReady,
    ...(track ? { onSocket: (s: Socket) => track(e, s) } : {}),
    ...(o.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
  });
}

export type Resolution =
  /** No profile (outside the profile networks, NotFound, or none in time): forward to the original destination. */
  | { readonly kind: 'forward' }
  /** A single known endpoint (a pod IP): connect straight to it, with mTLS when it has an identity. */
  | { readonly kind: 'endpoint'; readonly endpoint: MeshEndpoint; release(): void }
  /** A service: route by the profile, split over backends, balance within each. */
  | { readonly kind: 'logical'; readonly target: LogicalTarget };

export interface OutboundOptions {
  readonly tls: MeshTls;
  /** How long to wait for the first profile before forwarding (Linkerd: the outbound discovery waits). */
  readonly profileTimeoutMs?: number;
  readonly failfastMs?: number;
  /** Per-backend balancer settings from a policy (queue capacity, peak-EWMA); Linkerd's defaults otherwise. */
  readonly queueCapacity?: number;
  readonly defaultRttMs?: number;
  readonly decayMs?: number;
  readonly connectTimeoutMs?: number;
  readonly breaker?: BreakerOptions;
  /** The pod's own IPs: no TLS and no upgrade to ourselves (docs/reference/linkerd-proxy.md §1 `is_local`). */
  readonly isLocal?: (ip: string) => boolean;
  /** Told of each TCP connection opened to an endpoint (its tcp_* metrics, peer="dst"). */
  readonly track?: (e: Endpoint, socket: Socket) => void;
}

export class OutboundResolver {
  readonly #discovery: Discovery;
  readonly #o: OutboundOptions;

  constructor(discovery: Discovery, o: OutboundOptions) {
    this.#discovery = discovery;
    this.#o = o;
  }

  /** The options every backend of this resolver is built with (policy targets build theirs with them too). */
  get options(): OutboundOptions {
    return this.#o;
  }

  async resolve(ip: string, port: number): Promise<Resolution> {
    const target = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    const lease = this.#discovery.profile(target, ip);
    if (!lease) return { kind: 'forward' };
    const raw = await lease.value.first(this.#o.profileTimeoutMs ?? 3_000);
    if (!raw) {
      lease.release();
      return { kind: 'forward' };
    }
    if (raw.endpoint) {
      const e = toEndpoint(raw.endpoint, {});
      if (!e) {
        lease.release();
        return { kind: 'forward' };
      }
      const h2 = e.hint === 'h2' && !this.#o.isLocal?.(e.ip) ? endpointClient(e, this.#o, () => undefined) : undefined;
      return {
        kind: 'endpoint',
        endpoint: { endpoint: e, h2 },
        release: () => {
          h2?.close();
          lease.release();
        },
      };
    }
    if (!raw.fullyQualifiedName) {
      lease.release();
      return { kind: 'forward' };
    }
    return { kind: 'logical', target: new LogicalTarget(raw, port, lease, this.#discovery, this.#o) };
  }
}

/**
 * A service target that follows its profile: each GetProfile update recompiles the routes and, when the set
 * of dst_overrides changes, builds the new backends and closes the ones no longer named (their connections
 * close after their last request).
 */
export class LogicalTarget {
  readonly logical: string;
  #profile: CompiledProfile;
  #split: WeightedSplit<Backend>;
  readonly #backends = new Map<string, Backend>();
  readonly #lease: Lease<ProfileWatch>;
  readonly #discovery: Discovery;
  readonly #o: OutboundOptions;
  readonly #onUpdate: (p: destination.DestinationProfile) => void;
  readonly #listeners = new Set<() => void>();

  constructor(raw: destination.DestinationProfile, port: number, lease: Lease<ProfileWatch>, discovery: Discovery, o: OutboundOptions) {
    this.logical = `${raw.fullyQualifiedName}:${port}`;
    this.#lease = lease;
    this.#discovery = discovery;
    this.#o = o;
    this.#profile = compileProfile(raw);
    this.#split = this.#build(this.#profile);
    this.#onUpdate = (p) => {
      this.#profile = compileProfile(p);
      this.#split = this.#build(this.#profile);
      for (const f of this.#listeners) f();
    };
    lease.value.on('update', this.#onUpdate);
  }

  /** Calls `f` after each profile update has been compiled; returns the function that stops it. */
  onUpdate(f: () => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  get profile(): CompiledProfile {
    return this.#profile;
  }

  get split(): WeightedSplit<Backend> {
    return this.#split;
  }

  #build(profile: CompiledProfile): WeightedSplit<Backend> {
    const wanted = profile.dstOverrides.length > 0 ? profile.dstOverrides : [{ authority: this.logical, weight: 1 }];
    const keep = new Set(wanted.map((w) => w.authority));
    for (const [authority, b] of this.#backends) {
      if (keep.has(authority)) continue;
      b.close();
      this.#backends.delete(authority);
    }
    return new WeightedSplit(
      wanted.map((w) => {
        let b = this.#backends.get(w.authority);
        if (!b) this.#backends.set(w.authority, (b = new Backend(w.authority, this.#discovery, this.#o)));
        return { weight: w.weight, backend: b };
      }),
    );
  }

  release(): void {
    this.#lease.value.off('update', this.#onUpdate);
    this.#listeners.clear();
    for (const b of this.#backends.values()) b.close();
    this.#backends.clear();
    this.#lease.release();
  }
}

/** The backend for one request: a ready one by weight, else the first (whose balancer waits, then fails fast). */
export function pickBackend(split: WeightedSplit<Backend>): Backend | undefined {
  return split.pick((b) => b.ready) ?? split.backends[0]?.backend;
}

/**
 * Opens a TCP stream to an endpoint for opaque traffic (docs/reference/linkerd-proxy.md §3 "Where the bytes go"): with an
 * identity and an opaque-transport port, mTLS to the peer's inbound port carrying the transport header that
 * names the real port; with an identity only, mTLS to the endpoint itself; otherwise plain TCP.
 */
export async function openOpaque(e: Endpoint, tls: MeshTls, session?: SessionProtocol, track?: (s: Socket) => void): Promise<Duplex> {
  const serverName = e.serverName ? { serverName: e.serverName } : {};
  const dial = (port: number): Socket => {
    const s = netConnect({ host: e.ip, port, noDelay: true });
    track?.(s);
    return s;
  };
  if (e.identity && e.opaqueTransportPort) {
    const inbound = e.opaqueTransportPort;
    const addr = e.ip.includes(':') ? `[${e.ip}]:${inbound}` : `${e.ip}:${inbound}`;
    return connectOpaqueTransport(tls, { addr, host: e.ip, port: inbound, serverId: e.identity, ...serverName }, headerFor(e.port, { session }), dial(inbound));
  }
  if (e.identity) return tls.connect({ addr: e.addr, host: e.ip, port: e.port, serverId: e.identity, ...serverName }, dial(e.port));
  return new Promise((resolve, reject) => {
    const s = dial(e.port);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
