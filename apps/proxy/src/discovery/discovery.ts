// Discovery per target (docs/reference/linkerd-proxy.md §5 "Discovery updates", docs/reference/linkerd-contracts.md §1.5/§3): one Destination/Get
// stream per authority and one GetProfile stream per target, shared by everyone who asks, with the context
// token, kept alive by ControlWatch, and dropped after the idle timeout once nobody holds a lease.
// GetProfile is asked only for IPs inside the profile networks (or names under the profile suffixes).
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { ServiceError } from '@grpc/grpc-js';
import type { DestinationClient, destination } from '@trellis/proto';
import type { ControlMetrics } from '../identity/control-metrics.ts';
import type { DiscoveryConfig } from './config.ts';
import { EndpointSet } from './endpoints.ts';
import { LeaseMap, type Lease } from './leases.ts';
import { inNetworks } from './networks.ts';
import { ControlWatch, type WatchOptions } from './watch.ts';

export type { Lease } from './leases.ts';

export interface ProfileEvents {
  update: [destination.DestinationProfile];
  /** Destination has no profile for this target: forward to the original destination. */
  notFound: [];
}

/** The latest profile of a target. */
export class ProfileWatch extends EventEmitter<ProfileEvents> {
  readonly target: string;
  current: destination.DestinationProfile | undefined;
  notFound = false;
  constructor(target: string) {
    super();
    this.target = target;
  }
  /** Resolves with the first answer: a profile, or undefined when there is none (or none within `timeoutMs`). */
  first(timeoutMs: number): Promise<destination.DestinationProfile | undefined> {
    if (this.current || this.notFound) return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.off('update', done);
        this.off('notFound', done);
        resolve(this.current);
      };
      const timer = setTimeout(done, timeoutMs);
      this.once('update', done);
      this.once('notFound', done);
    });
  }
}

export interface DiscoveryLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** EndpointSet with the NotFound outcome of Get. */
export class ResolvedEndpoints extends EndpointSet {
  /** Destination said the authority does not exist (NotFound/InvalidArgument). */
  notFound = false;
}

export class Discovery {
  readonly #config: DiscoveryConfig;
  readonly #client: () => DestinationClient;
  readonly #log: DiscoveryLog;
  readonly #metrics: ControlMetrics | undefined;
  readonly #ready: NonNullable<WatchOptions['ready']>;
  readonly #endpoints: LeaseMap<ResolvedEndpoints>;
  readonly #profiles: LeaseMap<ProfileWatch>;

  /**
   * `client` is asked at every (re)subscription, so a rotated certificate reaches new streams; `ready` says when
   * a (re)subscription may go out (ControlClients.ready; by default, when the client's channel is connected).
   */
  constructor(config: DiscoveryConfig, client: () => DestinationClient, log: DiscoveryLog, o: { metrics?: ControlMetrics; ready?: WatchOptions['ready'] } = {}) {
    this.#config = config;
    this.#client = client;
    this.#log = log;
    this.#metrics = o.metrics;
    this.#ready = o.ready ?? ((deadline, cb) => this.#client().waitForReady(deadline, cb));
    this.#endpoints = new LeaseMap(config.idleTimeoutMs);
    this.#profiles = new LeaseMap(config.idleTimeoutMs);
  }

  #timeouts() {
    const c = this.#config;
    return { initialMs: c.streamInitialTimeoutMs, idleMs: c.streamIdleTimeoutMs, lifetimeMs: c.streamLifetimeMs };
  }

  #options(rpc: string): WatchOptions {
    const stats = this.#metrics?.watch(this.#config, `io.linkerd.proxy.destination.Destination/${rpc}`);
    return { ready: this.#ready, ...(stats ? { stats } : {}) };
  }

  #request(path: string): destination.GetDestination {
    return { scheme: '', path, contextToken: this.#config.contextToken };
  }

  /** Whether GetProfile should be asked for this target ("ip:port" or "name:port"). */
  profileEligible(host: string): boolean {
    if (isIP(host) !== 0) return inNetworks(host, this.#config.profileNetworks);
    const name = host.endsWith('.') ? host : `${host}.`;
    return this.#config.profileSuffixes.some((s) => s === '.' || name.endsWith(s.startsWith('.') ? s : `.${s}`) || name === s);
  }

  /** Endpoints of an authority ("svc.ns.svc.cluster.local:8080"), from Destination/Get. */
  resolve(authority: string): Lease<ResolvedEndpoints> {
    return this.#endpoints.lease(authority, () => {
      const set = new ResolvedEndpoints(authority);
      const watch = new ControlWatch<destination.Update>(() => this.#client().get(this.#request(authority)), this.#timeouts(), this.#options('Get'));
      watch.on('message', (u, fresh) => set.apply(u, fresh));
      watch.on('rejected', (err: ServiceError) => {
        this.#log.debug({ authority, code: err.code }, 'Destination has no endpoints for this authority');
        set.notFound = true;
        set.clear();
      });
      watch.on('reconnecting', (err) => this.#log.warn({ authority, err: err.message }, 'Destination stream failed; reconnecting'));
      watch.on('recovered', (r) => this.#log.info({ authority, ...r }, 'Destination stream re-established'));
      return { value: set, watch };
    });
  }

  /**
   * The profile of a target ("10.96.0.10:80" or a name with port); undefined when the target is outside the
   * profile networks and suffixes (no lookup: the caller forwards to the original destination).
   */
  profile(target: string, host: string): Lease<ProfileWatch> | undefined {
    if (!this.profileEligible(host)) return undefined;
    return this.#profiles.lease(target, () => {
      const pw = new ProfileWatch(target);
      const watch = new ControlWatch<destination.DestinationProfile>(() => this.#client().getProfile(this.#request(target)), this.#timeouts(), this.#options('GetProfile'));
      watch.on('message', (p) => {
        pw.current = p;
        pw.emit('update', p);
      });
      watch.on('rejected', () => {
        pw.notFound = true;
        pw.emit('notFound');
      });
      watch.on('reconnecting', (err) => this.#log.warn({ target, err: err.message }, 'Profile stream failed; reconnecting'));
      watch.on('recovered', (r) => this.#log.info({ target, ...r }, 'Profile stream re-established'));
      return { value: pw, watch };
    });
  }

  /** Targets with a live stream, for tests and /debug. */
  get size(): { endpoints: number; profiles: number } {
    return { endpoints: this.#endpoints.size, profiles: this.#profiles.size };
  }

  close(): void {
    this.#endpoints.close();
    this.#profiles.close();
  }
}
