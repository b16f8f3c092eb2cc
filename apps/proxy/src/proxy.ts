// Builds and starts the proxy's parts from its config: listeners, both directions, metrics, admin, drain; with
// LINKERD2_PROXY_CORES > 1, worker threads that serve the same ports (workers/pool.ts).
import { availableParallelism } from 'node:os';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { adminAcceptor } from './admin/accept.ts';
import { adminHandler } from './admin/server.ts';
import { createServer as createHttpServer } from './http/node-http.ts';
import type { ListenAddr, ProxyConfig } from './config.ts';
import { defaultResolve, listen, listener, startDataPath } from './data-path.ts';
import { startMesh, type Mesh } from './identity/mesh.ts';
import type { ProxyLog } from './log.ts';
import { mergeExpositions } from './metrics/merge.ts';
import { ProxyMetrics } from './metrics/proxy-metrics.ts';
import { adminAuthorizer } from './inbound/policy/admin.ts';
import type { PortLease } from './inbound/policy/policies.ts';
import { TapRegistry } from './tap/registry.ts';
import { createTapServer, type TapServer } from './tap/server.ts';
import type { SpanSink } from './trace/exporter.ts';
import type { Destination } from './tcp/accept.ts';
import { WorkerPool } from './workers/pool.ts';

export interface ProxyDeps {
  readonly log: ProxyLog;
  /** The environment as started with, for the admin server's /env.json (the config is parsed already). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The original destination of an accepted socket; tests may replace SO_ORIGINAL_DST (main thread only). */
  readonly resolve?: (socket: Socket) => Destination;
  /** Called when /shutdown is posted. */
  readonly onShutdownRequest: () => void;
  /** With LINKERD2_PROXY_CORES > 1: the module worker threads run (the proxy's main), and the --plaintext flag. */
  readonly workers?: { readonly entry: URL; readonly plaintext: boolean; readonly onFailure: (err: Error) => void };
}

export interface RunningProxy {
  readonly outbound: readonly AddressInfo[];
  readonly inbound: AddressInfo;
  readonly admin: AddressInfo;
  /** The tap server's address; undefined without LINKERD2_PROXY_TAP_SVC_NAME. */
  readonly control: AddressInfo | undefined;
  /** The main thread's metrics (each worker thread counts its own; /metrics sums them). */
  readonly metrics: ProxyMetrics;
  readonly taps: TapRegistry;
  /** Span export; undefined while tracing is off. */
  readonly spans: SpanSink | undefined;
  /** Identity, mTLS and discovery; undefined in plaintext mode. */
  readonly mesh: Mesh | undefined;
  /** Threads serving the data path: 1, or LINKERD2_PROXY_CORES (at most the CPUs available). */
  readonly threads: number;
  /** Starts the drain; resolves true when every connection closed within the grace period. */
  drain(): Promise<boolean>;
  close(): void;
}

export async function startProxy(cfg: ProxyConfig, deps: ProxyDeps): Promise<RunningProxy> {
  const logger: Logger = deps.log.logger;
  const registry = new Registry();
  // Meshed mode: the key, CSR and first Certify start now; connections wait for the certificate (mesh.gate).
  const metrics = new ProxyMetrics();
  const mesh = cfg.mesh ? await startMesh(cfg.mesh, { logger, registry, metrics, ...(cfg.inboundIps ? { localIps: cfg.inboundIps } : {}) }) : undefined;
  // As Linkerd's proxy: no more threads than the CPUs there are.
  const threads = deps.workers ? Math.min(cfg.cores, availableParallelism()) : 1;
  const shareable = threads > 1;

  // The listeners are bound first, so every part below is built knowing the ports (the inbound port's direct
  // stack, the proxy's own ports, the admin port's policy). Handlers are attached in the same turn as the last
  // bind completes, before the event loop can accept a connection.
  const outboundServers = cfg.outboundListenAddrs.map(listener);
  const inboundServer = listener();
  const adminServer = listener();
  // Linkerd binds the control port only when a tap controller is named.
  const controlServer = cfg.tapSvcName !== undefined ? listener() : undefined;
  const [outboundAddrs, inboundAddr, adminAddr, controlAddr] = await Promise.all([
    Promise.all(outboundServers.map((s, i) => listen(s, cfg.outboundListenAddrs[i] as ListenAddr, shareable))),
    listen(inboundServer, cfg.inboundListenAddr, shareable),
    listen(adminServer, cfg.adminListenAddr),
    controlServer ? listen(controlServer, cfg.controlListenAddr) : undefined,
  ]);
  const ports = { outbound: outboundAddrs.map((a) => a.port), inbound: inboundAddr.port, admin: adminAddr.port };

  const taps = new TapRegistry();
  const tc = cfg.trace;
  for (const w of tc?.warnings ?? []) logger.warn(w);
  // Loaded only when tracing is on: a proxy without a collector does not evaluate the OpenTelemetry SDK.
  const spans = tc ? (await import('./trace/exporter.ts')).createSpanSink(tc, { registry, log: logger, ...(mesh && cfg.mesh ? { mesh: { source: mesh.agent, trustAnchorsPem: cfg.mesh.identity.trustAnchorsPem } } : {}) }) : undefined;
  const path = startDataPath(cfg, {
    logger,
    registry,
    metrics,
    mesh,
    resolve: deps.resolve ?? defaultResolve,
    taps,
    spans,
    ports,
    outboundServers,
    inboundServer,
    watchAlso: [adminAddr.port],
    ...(shareable ? { thread: 0 } : {}),
  });
  const adminLease: PortLease = path.policies.lease(adminAddr.port);

  const w = deps.workers;
  const pool =
    w && shareable
      ? await WorkerPool.start({ entry: w.entry, count: threads - 1, init: { plaintext: w.plaintext, ports }, taps, log: logger, onFailure: w.onFailure })
      : undefined;
  if (pool && mesh) {
    const current = mesh.agent.current();
    if (current) pool.credentials(current);
    mesh.agent.on('credentials', (c) => pool.credentials(c));
  }
  const tapServer: TapServer | undefined =
    cfg.tapSvcName !== undefined ? createTapServer({ registry: pool ? pool.taps : taps, permittedId: cfg.tapSvcName, tls: mesh?.tls, log: logger, detectTimeoutMs: cfg.inbound.detectTimeoutMs }) : undefined;

  let meshClosed = false;
  const closeMesh = () => {
    if (meshClosed) return;
    meshClosed = true;
    adminLease.release();
    mesh?.close();
  };

  collectDefaultMetrics({ register: registry });
  const handleAdmin = adminHandler({
    // Each worker's series are summed into the main thread's: one exposition, every request counted once.
    metrics: async () => {
      const own = path.renderMetrics() + (await registry.metrics());
      return pool ? mergeExpositions([own, ...(await pool.scrape())]) : own;
    },
    // Meshed: 503 until the first certificate; plaintext mode has no identity to wait for.
    isReady: mesh ? () => mesh.isReady() : () => true,
    env: deps.env,
    getLogFilter: deps.log.filter,
    setLogFilter: (filter) => {
      const ok = deps.log.setFilter(filter);
      if (ok) pool?.broadcast({ t: 'log-filter', filter });
      return ok;
    },
    shutdownEnabled: cfg.shutdownEndpointEnabled,
    shutdown: deps.onShutdownRequest,
    authorize: adminAuthorizer({ authz: path.authz, log: logger }, path.targets, () => adminLease.policy),
  });
  const admin = createHttpServer(handleAdmin);
  const adminAccept = adminAcceptor({
    h1: admin,
    handler: handleAdmin as Parameters<typeof adminAcceptor>[0]['handler'],
    tls: mesh?.tls,
    onTlsFailure: (err) => logger.debug({ err: err.message }, 'admin connection refused during TLS'),
  });

  const gate = mesh ? mesh.gate.bind(mesh) : <C>(accept: (conn: C) => void) => accept;
  adminServer.on('connection', (socket: Socket) => adminAccept.accept(socket));
  if (controlServer && tapServer) {
    const tapAccept = gate((conn: { socket: Socket }) => tapServer.accept(conn.socket));
    controlServer.on('connection', (socket: Socket) => {
      socket.on('error', noop);
      tapAccept({ socket });
    });
  }
  // node:http starts its header and request timeouts when it starts listening; this one is fed connections instead.
  admin.emit('listening');
  // A failed accept (EMFILE, ...) is logged and the listener keeps going, as Linkerd's accept loop does.
  for (const s of [adminServer, ...(controlServer ? [controlServer] : [])]) {
    s.on('error', (err: NodeJS.ErrnoException) => logger.warn({ code: err.code, err: err.message }, 'Server failed to accept connection'));
  }
  logger.info({ outbound: outboundAddrs, inbound: inboundAddr, admin: adminAddr, ...(controlAddr ? { control: controlAddr } : {}), threads }, 'proxy listening');

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
    threads,
    drain: async () => {
      const [done, workersDone] = await Promise.all([path.drainAll(), pool ? pool.drain() : true]);
      closeAdmin();
      closeMesh();
      return done && workersDone;
    },
    close: () => {
      path.close();
      pool?.close();
      closeMesh();
      closeAdmin();
    },
  };
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}
