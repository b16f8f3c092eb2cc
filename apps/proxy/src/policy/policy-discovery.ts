// Policy discovery (docs/reference/linkerd-proxy.md §2, §5; docs/reference/linkerd-contracts.md §1.9, §1.10): one OutboundPolicies/Watch stream per
// original destination and one InboundServerPolicies/WatchPort stream per inbound port, shared by everyone who
// asks, kept alive by ControlWatch, and dropped after the idle timeout once nobody holds a lease. NotFound
// means "not a policy target" (forward to the original destination); Unimplemented means an older control
// plane without the policy API (fall back to profiles and the default inbound policy).
import { EventEmitter } from 'node:events';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { tcpAddress, type InboundServerPoliciesClient, type OutboundPoliciesClient, type inbound, type outbound } from '@trellis/proto';
import { LeaseMap, type Lease } from '../discovery/leases.ts';
import { ControlWatch, type WatchOptions, type WatchTimeouts } from '../discovery/watch.ts';
import type { ControlClients } from '../identity/control-clients.ts';
import type { ControlMetrics } from '../identity/control-metrics.ts';
import type { PolicyConfig } from './config.ts';

/** pending: no answer yet; ok: `current` holds the latest; the others end the watch. */
export type PolicyState = 'pending' | 'ok' | 'notFound' | 'unimplemented' | 'invalid';

interface PolicyEvents<T> {
  update: [T];
  /** The controller answered that there is no policy to watch; `state` says which answer. */
  rejected: [PolicyState];
}

/** The latest policy of one target or port. */
export class PolicyWatch<T> extends EventEmitter<PolicyEvents<T>> {
  readonly key: string;
  current: T | undefined;
  state: PolicyState = 'pending';

  constructor(key: string) {
    super();
    this.key = key;
    // Any number of connections may wait on one target; they come and go.
    this.setMaxListeners(0);
  }

  /** Resolves with the first answer: the policy, or undefined when there is none (or none within `timeoutMs`). */
  first(timeoutMs: number): Promise<T | undefined> {
    if (this.state !== 'pending') return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.off('update', done);
        this.off('rejected', done);
        resolve(this.current);
      };
      const timer = setTimeout(done, timeoutMs);
      this.once('update', done);
      this.once('rejected', done);
    });
  }
}

/** The clients of each policy API: `get` for a new stream, `ready` to wait for a connection (ControlClients). */
export interface PolicyClients {
  readonly outbound: Pick<ControlClients<OutboundPoliciesClient>, 'get' | 'ready'>;
  readonly inbound: Pick<ControlClients<InboundServerPoliciesClient>, 'get' | 'ready'>;
}

export interface PolicyLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

function stateOf(err: ServiceError): PolicyState {
  if (err.code === status.UNIMPLEMENTED) return 'unimplemented';
  if (err.code === status.NOT_FOUND) return 'notFound';
  return 'invalid';
}

export class PolicyDiscovery {
  readonly #config: PolicyConfig;
  readonly #clients: PolicyClients;
  readonly #timeouts: WatchTimeouts;
  readonly #log: PolicyLog;
  readonly #metrics: ControlMetrics | undefined;
  readonly #outbound: LeaseMap<PolicyWatch<outbound.OutboundPolicy>>;
  readonly #inbound: LeaseMap<PolicyWatch<inbound.Server>>;

  /** `inboundIdleTimeoutMs`: for inbound ports (Linkerd's inbound discovery idle timeout); `idleTimeoutMs` otherwise. */
  constructor(config: PolicyConfig, clients: PolicyClients, o: { timeouts: WatchTimeouts; idleTimeoutMs: number; inboundIdleTimeoutMs?: number; log: PolicyLog; metrics?: ControlMetrics }) {
    this.#config = config;
    this.#clients = clients;
    this.#timeouts = o.timeouts;
    this.#log = o.log;
    this.#metrics = o.metrics;
    this.#outbound = new LeaseMap(o.idleTimeoutMs);
    this.#inbound = new LeaseMap(o.inboundIdleTimeoutMs ?? o.idleTimeoutMs);
  }

  #watch<T>(key: string, open: () => ClientReadableStream<T>, what: string, options: WatchOptions) {
    const pw = new PolicyWatch<T>(key);
    const watch = new ControlWatch<T>(open, this.#timeouts, options);
    watch.on('message', (p) => {
      pw.current = p;
      pw.state = 'ok';
      pw.emit('update', p);
    });
    watch.on('rejected', (err) => {
      pw.state = stateOf(err);
      if (pw.state === 'unimplemented') this.#log.warn({ [what]: key }, 'Policy controller does not implement this API; using defaults');
      else this.#log.debug({ [what]: key, code: err.code, err: err.details }, 'Policy controller has no policy for this target');
      pw.emit('rejected', pw.state);
    });
    watch.on('reconnecting', (err) => this.#log.warn({ [what]: key, err: err.message }, 'Policy stream failed; reconnecting'));
    watch.on('recovered', (r) => this.#log.info({ [what]: key, ...r }, 'Policy stream re-established'));
    return { value: pw, watch };
  }

  #options(rpc: string, clients: Pick<ControlClients<unknown>, 'ready'>): WatchOptions {
    const svcAddr = this.#config.svcAddr;
    const stats = svcAddr && this.#metrics?.watch({ svcAddr, svcName: this.#config.svcName }, rpc);
    return { ready: (deadline, cb) => clients.ready(deadline, cb), ...(stats ? { stats } : {}) };
  }

  /** The outbound policy of an original destination. */
  outbound(ip: string, port: number): Lease<PolicyWatch<outbound.OutboundPolicy>> {
    const key = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    const spec: outbound.TrafficSpec = { sourceWorkload: this.#config.workload, target: { $case: 'addr', value: tcpAddress(ip, port) } };
    return this.#outbound.lease(key, () =>
      this.#watch(key, () => this.#clients.outbound.get().watch(spec), 'target', this.#options('io.linkerd.proxy.outbound.OutboundPolicies/Watch', this.#clients.outbound)),
    );
  }

  /** The inbound policy of one of our ports. */
  inbound(port: number): Lease<PolicyWatch<inbound.Server>> {
    const spec: inbound.PortSpec = { workload: this.#config.workload, port };
    return this.#inbound.lease(String(port), () =>
      this.#watch(String(port), () => this.#clients.inbound.get().watchPort(spec), 'port', this.#options('io.linkerd.proxy.inbound.InboundServerPolicies/WatchPort', this.#clients.inbound)),
    );
  }

  /** Policies with a live stream, for tests and /debug. */
  get size(): { outbound: number; inbound: number } {
    return { outbound: this.#outbound.size, inbound: this.#inbound.size };
  }

  close(): void {
    this.#outbound.close();
    this.#inbound.close();
  }
}
