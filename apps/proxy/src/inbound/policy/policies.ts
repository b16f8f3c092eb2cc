// The inbound policy of each port (docs/reference/linkerd-proxy.md §2 "Inbound decision" 1; §7 LINKERD2_PROXY_INBOUND_PORTS):
// one InboundServerPolicies/WatchPort stream per port, opened at start for LINKERD2_PROXY_INBOUND_PORTS and the
// admin port and kept for the proxy's life, opened on first use for any other port and closed after the idle
// timeout once no connection holds it. Until the controller's first answer, and whenever there is no answer to
// have (no controller configured, Unimplemented, NotFound), a port runs on LINKERD2_PROXY_INBOUND_DEFAULT_POLICY
// built the way the controller builds it (opaque for LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION).
//
// How long a connection waits for its port's first answer: at most `initialTimeoutMs` (500 ms by default,
// TRELLIS_PROXY_INBOUND_POLICY_INITIAL_TIMEOUT) counted from when the port's watch started, not per connection.
// Linkerd does not wait at all (a port's policy starts as the default); waiting a little keeps the first
// connections to a port with a stricter Server from being judged by the default, and counting from the watch's
// start keeps a controller that is down from delaying every connection: once the wait is over, connections go
// on at once under the default until the controller answers. Eagerly watched ports have usually been answered
// before any connection arrives. A policy received later applies to the next connection and the next request;
// opaque connections it no longer admits are closed (tcp: inbound_tcp_authz_terminate_total).
import { EventEmitter } from 'node:events';
import type { Cidr, PortRange } from '@trellis/config';
import type { inbound } from '@trellis/proto';
import { portIn } from '../../config.ts';
import type { PolicyDiscovery, PolicyWatch } from '../../policy/policy-discovery.ts';
import { InvalidPolicyError } from './authz.ts';
import { compileServer, defaultServer, invalidServer, type CompiledServer, type DefaultPolicyName } from './server.ts';

const RESOLVED = Promise.resolve();

interface PortPolicyEvents {
  change: [CompiledServer];
}

/** A port's current policy; `change` when the controller sends a new one. */
export class PortPolicy extends EventEmitter<PortPolicyEvents> {
  readonly port: number;
  current: CompiledServer;
  /** Settles when the controller first answered for this port, or when waiting for it is over. */
  readonly ready: Promise<void>;
  /** True once `ready` has settled: connections go on without waiting for a promise. */
  settled: boolean;

  constructor(port: number, current: CompiledServer, ready: Promise<void> | undefined) {
    super();
    this.port = port;
    this.current = current;
    this.settled = ready === undefined;
    this.ready = ready ? ready.then(() => void (this.settled = true)) : RESOLVED;
    // Every open opaque connection on the port listens for changes.
    this.setMaxListeners(0);
  }

  set(s: CompiledServer): void {
    if (s === this.current) return;
    this.current = s;
    this.emit('change', s);
  }
}

export interface PortLease {
  readonly policy: PortPolicy;
  release(): void;
}

export interface InboundPolicyLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface InboundPoliciesOptions {
  readonly defaultPolicy: DefaultPolicyName;
  readonly clusterNetworks: readonly Cidr[];
  readonly detectTimeoutMs: number;
  /** LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION: the default policy is opaque on these. */
  readonly opaquePorts: readonly PortRange[];
  readonly initialTimeoutMs: number;
  readonly log: InboundPolicyLog;
}


export class InboundPolicies {
  readonly #discovery: Pick<PolicyDiscovery, 'inbound'> | undefined;
  readonly #o: InboundPoliciesOptions;
  readonly #defaults: { detect: CompiledServer; opaque: CompiledServer };
  readonly #static = new Map<number, PortPolicy>();
  readonly #watched = new WeakMap<PolicyWatch<inbound.Server>, PortPolicy>();
  readonly #always: PortLease[] = [];

  constructor(discovery: Pick<PolicyDiscovery, 'inbound'> | undefined, o: InboundPoliciesOptions) {
    this.#discovery = discovery;
    this.#o = o;
    this.#defaults = {
      detect: defaultServer(o.defaultPolicy, o.clusterNetworks, o.detectTimeoutMs, false),
      opaque: defaultServer(o.defaultPolicy, o.clusterNetworks, o.detectTimeoutMs, true),
    };
  }

  /** The default policy of a port. */
  defaultFor(port: number): CompiledServer {
    return portIn(this.#o.opaquePorts, port) ? this.#defaults.opaque : this.#defaults.detect;
  }

  /** Watches these ports (LINKERD2_PROXY_INBOUND_PORTS and the admin port) for as long as the proxy runs. */
  watchAlways(ports: Iterable<number>): void {
    for (const p of new Set(ports)) if (p > 0 && p < 65536) this.#always.push(this.lease(p));
  }

  /** The policy of `port`; a connection holds the lease while it is open. */
  lease(port: number): PortLease {
    const d = this.#discovery;
    if (!d) {
      let p = this.#static.get(port);
      if (!p) {
        p = new PortPolicy(port, this.defaultFor(port), undefined);
        this.#static.set(port, p);
      }
      return { policy: p, release: noop };
    }
    const l = d.inbound(port);
    let p = this.#watched.get(l.value);
    if (!p) {
      p = this.#follow(port, l.value);
      this.#watched.set(l.value, p);
    }
    return { policy: p, release: () => l.release() };
  }

  #compile(port: number, s: inbound.Server): CompiledServer {
    try {
      return compileServer(s, { localhost: true });
    } catch (err) {
      if (!(err instanceof InvalidPolicyError)) throw err;
      this.#o.log.warn({ port, err: err.message }, 'Received an invalid inbound policy; HTTP requests fail with 500 and connections are refused');
      return invalidServer(err.message, this.#o.detectTimeoutMs);
    }
  }

  #follow(port: number, w: PolicyWatch<inbound.Server>): PortPolicy {
    const initial = w.state === 'ok' && w.current ? this.#compile(port, w.current) : this.defaultFor(port);
    const ready = w.state === 'pending' ? w.first(this.#o.initialTimeoutMs).then(noop) : undefined;
    const p = new PortPolicy(port, initial, ready);
    w.on('update', (s) => p.set(this.#compile(port, s)));
    w.on('rejected', (state) => {
      this.#o.log.debug({ port, state }, 'No inbound policy from the controller; using the default policy');
      p.set(this.defaultFor(port));
    });
    return p;
  }

  close(): void {
    for (const l of this.#always.splice(0)) l.release();
  }
}

function noop(): void {
  // nothing to release: the default policy needs no watch
}
