// Builds and starts the proxy's parts from its config: listeners, both directions, metrics, admin, drain.
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { originalDestination } from '@trellis/net';
import { adminAcceptor } from './admin/accept.ts';
import { adminHandler } from './admin/server.ts';
import { createServer as createHttpServer } from './http/node-http.ts';
import type { ListenAddr, ProxyConfig } from './config.ts';
import { Drain } from './drain.ts';
import { startMesh, type Mesh } from './identity/mesh.ts';
import { createInbound } from './inbound/inbound.ts';
import type { ProxyLog } from './log.ts';
import { EventLoopDelay } from './metrics/event-loop-delay.ts';
import { ProxyMetrics } from './metrics/proxy-metrics.ts';
import { createOutbound } from './outbound/outbound.ts';
import { adminAuthorizer } from './inbound/policy/admin.ts';
import { InboundAuthzMetrics } from './inbound/policy/metrics.ts';
import { InboundPolicies, type PortLease } from './inbound/policy/policies.ts';
import { InboundProfiles } from './inbound/profile-routes.ts';
import { RouteMetricFamilies } from './profiles/metrics.ts';
import { TapRegistry } from './tap/registry.ts';
import { createTapServer, type TapServer } from './tap/server.ts';
import type { SpanSink } from './trace/exporter.ts';
import type { Destination } from './tcp/accept.ts';
import { TargetCache } from './tcp/targets.ts';

export interface ProxyDeps {
  readonly log: ProxyLog;
  /** The environment as started with, for the admin server's /env.json (the config is parsed already). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The original destination of an accepted socket; tests may replace SO_ORIGINAL_DST. */
  readonly resolve?: (socket: Socket) => Destination;
  /** Called when /shutdown is posted. */
  readonly onShutdownRequest: () => void;
}

export interface RunningProxy {
  readonly outbound: readonly AddressInfo[];
  readonly inbound: AddressInfo;
  readonly admin: AddressInfo;
  /** The tap server's address; undefined without LINKERD2_PROXY_TAP_SVC_NAME. */
  readonly control: AddressInfo | undefined;
  readonly metrics: ProxyMetrics;
  readonly taps: TapRegistry;
  /** Span export; undefined while tracing is off. */
  readonly spans: SpanSink | undefined;
  /** Identity, mTLS and discovery; undefined in plaintext mode. */
  readonly mesh: Mesh | undefined;
  /** Starts the drain; resolves true when every connection closed within the grace period. */
  drain(): Promise<boolean>;
  close(): void;
}

async function listen(server: Server, addr: ListenAddr): Promise<AddressInfo> {
  server.listen({ host: addr.host, port: addr.port, ipv6Only: false });
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
  return server.address() as AddressInfo;
}

const defaultResolve = (s: Socket): Destination => {
  const d = originalDestination(s);
  return { ip: d.address, port: d.port };
};

export async function startProxy(cfg: ProxyConfig, deps: ProxyDeps): Promise<RunningProxy> {
  const logger: Logger = deps.log.logger;
  const registry = new Registry();
  // Meshed mode: the key, CSR and first Certify start now; connections wait for the certificate (mesh.gate).
  const metrics = new ProxyMetrics();
  const mesh = cfg.mesh ? await startMesh(cfg.mesh, { logger, registry, metrics, ...(cfg.inboundIps ? { localIps: cfg.inboundIps } : {}) }) : undefined;

  // The listeners are bound first, so every part below is built knowing the ports (the inbound port's direct
  // stack, the proxy's own ports, the admin port's policy). Handlers are attached in the same turn as the last
  // bind completes, before the event loop can accept a connection.
  const listener = () => createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false });
  const outboundServers = cfg.outboundListenAddrs.map(listener);
  const inboundServer = listener();
  const adminServer = listener();
  // Linkerd binds the control port only when a tap controller is named.
  const controlServer = cfg.tapSvcName !== undefined ? listener() : undefined;
  const [outboundAddrs, inboundAddr, adminAddr, controlAddr] = await Promise.all([
    Promise.all(outboundServers.map((s, i) => listen(s, cfg.outboundListenAddrs[i] as ListenAddr))),
    listen(inboundServer, cfg.inboundListenAddr),
    listen(adminServer, cfg.adminListenAddr),
    controlServer ? listen(controlServer, cfg.controlListenAddr) : undefined,
  ]);
  const ownPorts: ReadonlySet<number> = new Set([cfg.controlListenAddr.port, ...outboundAddrs.map((a) => a.port), inboundAddr.port, adminAddr.port].filter((p) => p !== 0));

  const targets = new TargetCache(metrics, cfg.inboundDefaultPolicy);
  const drain = new Drain();
  const onRefused = (direction: string, err: Error) => logger.debug({ direction, code: (err as { code?: string }).code, err: err.message }, 'connection refused');
  const taps = new TapRegistry();
  const tc = cfg.trace;
  for (const w of tc?.warnings ?? []) logger.warn(w);
  // Loaded only when tracing is on: a proxy without a collector does not evaluate the OpenTelemetry SDK.
  const spans = tc ? (await import('./trace/exporter.ts')).createSpanSink(tc, { registry, log: logger, ...(mesh && cfg.mesh ? { mesh: { source: mesh.agent, trustAnchorsPem: cfg.mesh.identity.trustAnchorsPem } } : {}) }) : undefined;
  const shared = { metrics, targets, drain, onRefused, taps, spans };
  const tapServer: TapServer | undefined =
    cfg.tapSvcName !== undefined ? createTapServer({ registry: taps, permittedId: cfg.tapSvcName, tls: mesh?.tls, log: logger, detectTimeoutMs: cfg.inbound.detectTimeoutMs }) : undefined;
  const resolve = deps.resolve ?? defaultResolve;
  // ServiceProfile route metrics (meshed mode): outbound per profile route, inbound per the request's logical name.
  const routeMetrics = mesh ? new RouteMetricFamilies() : undefined;
  const outbound = createOutbound(cfg, shared, resolve, mesh, routeMetrics, logger);
  const pc = cfg.policy;
  const policies = new InboundPolicies(mesh?.policy, {
    defaultPolicy: cfg.inboundDefaultPolicy,
    clusterNetworks: pc.clusterNetworks,
    detectTimeoutMs: cfg.inbound.detectTimeoutMs,
    opaquePorts: cfg.inbound.opaquePorts,
    initialTimeoutMs: pc.inboundInitialTimeoutMs,
    log: logger,
  });
  // Eager policy discovery: the pod's ports and, always, the admin port (docs/reference/linkerd-proxy.md §6, §7).
  policies.watchAlways([...pc.inboundPorts, adminAddr.port]);
  const adminLease: PortLease = policies.lease(adminAddr.port);
  const authz = new InboundAuthzMetrics(metrics);
  // Meshed: connections made straight to the inbound port are its direct stack (transport header).
  const profiles =
    mesh && cfg.mesh && routeMetrics
      ? new InboundProfiles(mesh.discovery, routeMetrics, { initialTimeoutMs: cfg.mesh.discovery.profileInitialTimeoutMs, idleTimeoutMs: pc.inboundIdleTimeoutMs })
      : undefined;
  const inbound = createInbound(cfg, shared, resolve, ownPorts, { policies, authz, log: logger, profiles }, mesh, { port: inboundAddr.port });
  let meshClosed = false;
  const closeMesh = () => {
    if (meshClosed) return;
    meshClosed = true;
    adminLease.release();
    policies.close();
    profiles?.close();
    mesh?.close();
  };

  collectDefaultMetrics({ register: registry });
  const loopDelay = new EventLoopDelay();
  const sweep = setInterval(() => {
    const now = Date.now();
    metrics.sweep(now, cfg.metricsRetainIdleMs);
    targets.sweep(now, cfg.metricsRetainIdleMs);
    routeMetrics?.sweep(now, cfg.metricsRetainIdleMs);
  }, Math.min(60_000, Math.max(1000, cfg.metricsRetainIdleMs / 10)));
  sweep.unref();

  const handleAdmin = adminHandler({
    metrics: async () => metrics.render() + (routeMetrics ? routeMetrics.all().map((f) => f.render()).join('') : '') + loopDelay.render() + (await registry.metrics()),
    // Meshed: 503 until the first certificate; plaintext mode has no identity to wait for.
    isReady: mesh ? () => mesh.isReady() : () => true,
    env: deps.env,
    getLogFilter: deps.log.filter,
    setLogFilter: deps.log.setFilter,
    shutdownEnabled: cfg.shutdownEndpointEnabled,
    shutdown: deps.onShutdownRequest,
    authorize: adminAuthorizer({ authz, log: logger }, targets, () => adminLease.policy),
  });
  const admin = createHttpServer(handleAdmin);
  const adminAccept = adminAcceptor({
    h1: admin,
    handler: handleAdmin as Parameters<typeof adminAcceptor>[0]['handler'],
    tls: mesh?.tls,
    onTlsFailure: (err) => logger.debug({ err: err.message }, 'admin connection refused during TLS'),
  });

  const accepting = (accept: (conn: { socket: Socket }) => void) => (socket: Socket) => {
    socket.on('error', noop);
    accept({ socket });
  };
  const gate = mesh ? mesh.gate.bind(mesh) : <C>(accept: (conn: C) => void) => accept;
  for (const s of outboundServers) s.on('connection', accepting(gate(outbound)));
  inboundServer.on('connection', accepting(gate(inbound)));
  adminServer.on('connection', (socket: Socket) => adminAccept.accept(socket));
  if (controlServer && tapServer) controlServer.on('connection', accepting(gate((conn: { socket: Socket }) => tapServer.accept(conn.socket))));
  // node:http starts its header and request timeouts when it starts listening; this one is fed connections instead.
  admin.emit('listening');
  for (const s of [...outboundServers, inboundServer]) drain.addListener(s);
  // A failed accept (EMFILE, ...) is logged and the listener keeps going, as Linkerd's accept loop does.
  for (const s of [...outboundServers, inboundServer, adminServer, ...(controlServer ? [controlServer] : [])]) {
    s.on('error', (err: NodeJS.ErrnoException) => logger.warn({ code: err.code, err: err.message }, 'Server failed to accept connection'));
  }
  logger.info({ outbound: outboundAddrs, inbound: inboundAddr, admin: adminAddr, ...(controlAddr ? { control: controlAddr } : {}) }, 'proxy listening');

  const closeAdmin = () => {
    adminServer.close();
    admin.closeAllConnections();
    adminAccept.close();
    controlServer?.close();
    tapServer?.close();
    // Spans still queued are sent, within the export timeout; a dead collector does not hold the exit.
    void spans?.shutdown().catch(noop);
  };
  return {
    outbound: outboundAddrs,
    inbound: inboundAddr,
    admin: adminAddr,
    control: controlAddr,
    metrics,
    taps,
    spans,
    mesh,
    drain: async () => {
      const done = await drain.start(cfg.shutdownGracePeriodMs);
      closeAdmin();
      closeMesh();
      return done;
    },
    close: () => {
      clearInterval(sweep);
      loopDelay.close();
      closeMesh();
      for (const s of [...outboundServers, inboundServer]) s.close();
      closeAdmin();
    },
  };
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}
