// One thread's data path: its outbound and inbound listeners' handlers, policy and profile watches, metrics, the
// drain. The main thread builds one beside the admin and tap servers; each worker thread (LINKERD2_PROXY_CORES > 1)
// builds its own on listeners that share the ports (SO_REUSEPORT).
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { originalDestination } from '@trellis/net';
import type { ListenAddr, ProxyConfig } from './config.ts';
import { Drain } from './drain.ts';
import type { Mesh } from './identity/mesh.ts';
import { createInbound } from './inbound/inbound.ts';
import { EventLoopDelay } from './metrics/event-loop-delay.ts';
import type { ProxyMetrics } from './metrics/proxy-metrics.ts';
import { createOutbound } from './outbound/outbound.ts';
import { InboundAuthzMetrics } from './inbound/policy/metrics.ts';
import { InboundPolicies } from './inbound/policy/policies.ts';
import { InboundProfiles } from './inbound/profile-routes.ts';
import { RouteMetricFamilies } from './profiles/metrics.ts';
import type { TapRegistry } from './tap/registry.ts';
import type { SpanSink } from './trace/exporter.ts';
import type { Destination } from './tcp/accept.ts';
import { TargetCache } from './tcp/targets.ts';

export const listener = (): Server => createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false });

/** Binds; `reusePort` lets other threads bind the same port, the kernel spreading connections among them. */
export async function listen(server: Server, addr: ListenAddr, reusePort = false): Promise<AddressInfo> {
  server.listen({ host: addr.host, port: addr.port, ipv6Only: false, ...(reusePort ? { reusePort } : {}) });
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
  return server.address() as AddressInfo;
}

/** SO_ORIGINAL_DST: where iptables meant the connection to go. */
export const defaultResolve = (s: Socket): Destination => {
  const d = originalDestination(s);
  return { ip: d.address, port: d.port };
};

export interface DataPathDeps {
  readonly logger: Logger;
  /** control_* and the tracing SDK's metrics are registered here. */
  readonly registry: Registry;
  readonly metrics: ProxyMetrics;
  readonly mesh: Mesh | undefined;
  readonly resolve: (socket: Socket) => Destination;
  readonly taps: TapRegistry;
  readonly spans: SpanSink | undefined;
  /** The ports every thread's listeners are bound to. */
  readonly ports: { readonly outbound: readonly number[]; readonly inbound: number; readonly admin: number };
  /** The bound listeners of this thread. */
  readonly outboundServers: readonly Server[];
  readonly inboundServer: Server;
  /** Ports whose policy is watched for the proxy's life besides the pod's inbound ports (the admin port). */
  readonly watchAlso?: readonly number[];
  /** With worker threads: this thread's number (0 the main thread), counted in trellis_proxy_thread_accepts_total. */
  readonly thread?: number;
}

export interface DataPath {
  readonly targets: TargetCache;
  readonly drain: Drain;
  readonly policies: InboundPolicies;
  readonly authz: InboundAuthzMetrics;
  /** This thread's families: Linkerd's request/TCP ones, route metrics, and its event-loop delay. */
  renderMetrics(): string;
  /** Stops accepting and drains; true when every connection closed within the grace period. */
  drainAll(): Promise<boolean>;
  close(): void;
}

export function startDataPath(cfg: ProxyConfig, d: DataPathDeps): DataPath {
  const { logger, metrics, mesh } = d;
  const ownPorts: ReadonlySet<number> = new Set([cfg.controlListenAddr.port, ...d.ports.outbound, d.ports.inbound, d.ports.admin].filter((p) => p !== 0));
  const targets = new TargetCache(metrics, cfg.inboundDefaultPolicy);
  const drain = new Drain();
  const onRefused = (direction: string, err: Error) => logger.debug({ direction, code: (err as { code?: string }).code, err: err.message }, 'connection refused');
  const shared = { metrics, targets, drain, onRefused, taps: d.taps, spans: d.spans };
  // ServiceProfile route metrics (meshed mode): outbound per profile route, inbound per the request's logical name.
  const routeMetrics = mesh ? new RouteMetricFamilies() : undefined;
  const outbound = createOutbound(cfg, shared, d.resolve, mesh, routeMetrics, logger);
  const pc = cfg.policy;
  const policies = new InboundPolicies(mesh?.policy, {
    defaultPolicy: cfg.inboundDefaultPolicy,
    clusterNetworks: pc.clusterNetworks,
    detectTimeoutMs: cfg.inbound.detectTimeoutMs,
    opaquePorts: cfg.inbound.opaquePorts,
    initialTimeoutMs: pc.inboundInitialTimeoutMs,
    log: logger,
  });
  // Eager policy discovery: the pod's ports and, on the main thread, the admin port (docs/reference/linkerd-proxy.md §6, §7).
  policies.watchAlways([...pc.inboundPorts, ...(d.watchAlso ?? [])]);
  const authz = new InboundAuthzMetrics(metrics);
  const profiles =
    mesh && cfg.mesh && routeMetrics
      ? new InboundProfiles(mesh.discovery, routeMetrics, { initialTimeoutMs: cfg.mesh.discovery.profileInitialTimeoutMs, idleTimeoutMs: pc.inboundIdleTimeoutMs })
      : undefined;
  // Meshed: connections made straight to the inbound port are its direct stack (transport header).
  const inbound = createInbound(cfg, shared, d.resolve, ownPorts, { policies, authz, log: logger, profiles }, mesh, { port: d.ports.inbound });

  const loopDelay = new EventLoopDelay();
  const sweep = setInterval(() => {
    const now = Date.now();
    metrics.sweep(now, cfg.metricsRetainIdleMs);
    targets.sweep(now, cfg.metricsRetainIdleMs);
    routeMetrics?.sweep(now, cfg.metricsRetainIdleMs);
  }, Math.min(60_000, Math.max(1000, cfg.metricsRetainIdleMs / 10)));
  sweep.unref();

  // With worker threads, how the kernel spread the connections: one series per thread, never summed.
  let accepts = 0;
  const counted = d.thread !== undefined;
  const accepting = (accept: (conn: { socket: Socket }) => void) => (socket: Socket) => {
    socket.on('error', noop);
    if (counted) accepts++;
    accept({ socket });
  };
  const acceptsFamily = () =>
    counted
      ? `# HELP trellis_proxy_thread_accepts_total Connections accepted on the outbound and inbound ports, per data-path thread.\n# TYPE trellis_proxy_thread_accepts_total counter\ntrellis_proxy_thread_accepts_total{thread="${d.thread}"} ${accepts}\n`
      : '';
  const gate = mesh ? mesh.gate.bind(mesh) : <C>(accept: (conn: C) => void) => accept;
  for (const s of d.outboundServers) s.on('connection', accepting(gate(outbound)));
  d.inboundServer.on('connection', accepting(gate(inbound)));
  const servers = [...d.outboundServers, d.inboundServer];
  for (const s of servers) drain.addListener(s);
  // A failed accept (EMFILE, ...) is logged and the listener keeps going, as Linkerd's accept loop does.
  for (const s of servers) s.on('error', (err: NodeJS.ErrnoException) => logger.warn({ code: err.code, err: err.message }, 'Server failed to accept connection'));

  let watchesClosed = false;
  const closeWatches = () => {
    if (watchesClosed) return;
    watchesClosed = true;
    policies.close();
    profiles?.close();
  };
  return {
    targets,
    drain,
    policies,
    authz,
    renderMetrics: () => metrics.render() + (routeMetrics ? routeMetrics.all().map((f) => f.render()).join('') : '') + loopDelay.render() + acceptsFamily(),
    drainAll: async () => {
      const done = await drain.start(cfg.shutdownGracePeriodMs);
      closeWatches();
      return done;
    },
    close: () => {
      clearInterval(sweep);
      loopDelay.close();
      closeWatches();
      for (const s of servers) s.close();
    },
  };
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}
