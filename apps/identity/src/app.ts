// Assembles identity from its parts: the issuer store and its file watcher, the Certify service behind the
// gRPC server, and the admin server. main.ts builds the dependencies that touch the outside world (logger,
// registry, Kubernetes) and hands them in; tests hand in their own.
import { sha256Fingerprint } from '@trellis/pki';
import { AdminServer, type Logger, type Registry } from '@trellis/telemetry';
import { createGrpcTracing, type GrpcTracing } from '@trellis/telemetry/grpc-tracing';
import { CertifyService } from './certify/certify-service.ts';
import type { TokenReviewer } from './certify/token-reviewer.ts';
import type { IdentityConfig } from './config.ts';
import { IdentityGrpcServer } from './grpc/identity-server.ts';
import { FileWatcher } from './issuer/file-watcher.ts';
import { IssuerStore, type ReloadOutcome } from './issuer/issuer-store.ts';
import type { EventRecorder, IdentityEvent } from './kubernetes/events.ts';
import { IdentityMetrics } from './metrics.ts';

export interface IdentityAppDeps {
  readonly config: IdentityConfig;
  readonly log: Logger;
  readonly registry: Registry;
  readonly reviewer: TokenReviewer;
  readonly events?: EventRecorder;
  readonly now?: () => Date;
  /** Fallback poll of the issuer files; 0 turns it off. */
  readonly pollIntervalMs?: number;
}

export class IdentityApp {
  readonly grpcPort: number;
  readonly adminPort: number;
  readonly store: IssuerStore;
  readonly #grpc: IdentityGrpcServer;
  readonly #admin: AdminServer;
  readonly #watcher: FileWatcher;
  readonly #log: Logger;
  readonly #state: { draining: boolean };
  readonly #tracing: GrpcTracing | undefined;

  private constructor(parts: {
    grpcPort: number;
    adminPort: number;
    store: IssuerStore;
    grpc: IdentityGrpcServer;
    admin: AdminServer;
    watcher: FileWatcher;
    log: Logger;
    state: { draining: boolean };
    tracing: GrpcTracing | undefined;
  }) {
    this.grpcPort = parts.grpcPort;
    this.adminPort = parts.adminPort;
    this.store = parts.store;
    this.#grpc = parts.grpc;
    this.#admin = parts.admin;
    this.#watcher = parts.watcher;
    this.#log = parts.log;
    this.#state = parts.state;
    this.#tracing = parts.tracing;
  }

  /**
   * Loads the issuer and starts serving. A missing or invalid issuer at start is not fatal: Certify answers
   * Unavailable and /ready stays 503 until valid files appear (the watcher picks them up).
   */
  static async start(deps: IdentityAppDeps): Promise<IdentityApp> {
    const { config, log } = deps;
    const metrics = new IdentityMetrics(deps.registry);
    const record = (e: IdentityEvent) => {
      deps.events?.record(e).catch((err: unknown) => log.warn({ reason: e.reason, err: (err as Error).message }, 'cannot record Kubernetes event'));
    };
    const store = new IssuerStore({
      files: { certificate: config.issuerCertificateFile, key: config.issuerKeyFile, trustAnchors: config.trustAnchorsFile },
      ...(deps.now ? { now: deps.now } : {}),
      onOutcome: (o) => onIssuerOutcome(o, { log, metrics, record }),
    });
    await store.reload();
    const watcher = new FileWatcher({
      paths: [config.issuerCertificateFile, config.issuerKeyFile, config.trustAnchorsFile],
      onChange: () => void store.reload(),
      pollIntervalMs: deps.pollIntervalMs ?? 10_000,
      onWatchError: (dir, err) => log.warn({ dir, err: err.message }, 'cannot watch directory; relying on polling'),
    });
    const service = new CertifyService({
      issuer: store,
      reviewer: deps.reviewer,
      controlPlaneNamespace: config.controllerNamespace,
      trustDomain: config.trustDomain,
      issuanceLifetimeMs: config.issuanceLifetimeMs,
      clockSkewMs: config.clockSkewMs,
      ...(deps.now ? { now: deps.now } : {}),
    });
    const tracing = config.traceCollector ? createGrpcTracing({ collector: config.traceCollector, serviceName: 'trellis-identity' }) : undefined;
    const grpc = new IdentityGrpcServer({ service, metrics, log, ...(tracing ? { interceptors: [tracing.interceptor] } : {}) });
    const state = { draining: false };
    const admin = new AdminServer({ registry: deps.registry, ready: () => store.ready() && !state.draining });
    let app: IdentityApp;
    try {
      const grpcPort = await listenGrpc(grpc, config.addr.host, config.addr.port);
      // node:http listens on every interface, IPv6 and IPv4, when given no host.
      const { port: adminPort } = await admin.listen(config.adminAddr.port, config.adminAddr.host || undefined);
      app = new IdentityApp({ grpcPort, adminPort, store, grpc, admin, watcher, log, state, tracing });
    } catch (err) {
      watcher.close();
      await Promise.allSettled([grpc.shutdown(0), admin.close()]);
      throw err;
    }
    log.info({ addr: `${config.addr.host}:${app.grpcPort}`, adminAddr: `${config.adminAddr.host}:${app.adminPort}`, trustDomain: config.trustDomain }, 'identity serving');
    return app;
  }

  /** SIGTERM: report not ready, stop accepting, let in-flight calls finish (up to graceMs), then close. */
  async stop(graceMs: number): Promise<void> {
    this.#state.draining = true;
    this.#watcher.close();
    const drained = await this.#grpc.shutdown(graceMs);
    if (!drained) this.#log.warn({ graceMs }, 'shutdown grace period over; cancelled the calls still in flight');
    await this.#admin.close();
    // Queued spans are sent within the exporter's timeout; a dead collector does not hold the exit.
    await this.#tracing?.shutdown().catch(() => undefined);
    this.#log.info({ drained }, 'identity stopped');
  }
}

/**
 * An empty host binds every interface: `[::]` (dual-stack, so the pod's own proxy reaches `localhost.:8080`
 * whichever family localhost resolves to), or `0.0.0.0` where the host has no IPv6.
 */
async function listenGrpc(grpc: IdentityGrpcServer, host: string, port: number): Promise<number> {
  if (host !== '') return grpc.listen(`${host.includes(':') ? `[${host}]` : host}:${port}`);
  try {
    return await grpc.listen(`[::]:${port}`);
  } catch {
    return grpc.listen(`0.0.0.0:${port}`);
  }
}

function onIssuerOutcome(
  o: Exclude<ReloadOutcome, { kind: 'unchanged' }>,
  ctx: { log: Logger; metrics: IdentityMetrics; record: (e: IdentityEvent) => void },
): void {
  if (o.kind === 'accepted') {
    ctx.metrics.issuerReloads.labels('accepted').inc();
    ctx.metrics.issuerLoaded(o.authority);
    const issuer = o.authority.certificate;
    ctx.log.info({ subject: issuer.subject, notAfter: o.authority.notAfter.toISOString(), sha256: sha256Fingerprint(issuer.raw) }, o.initial ? 'loaded issuer' : 'updated issuer');
    if (!o.initial) ctx.record({ type: 'Normal', reason: 'IssuerUpdated', message: `Updated identity issuer (expires ${o.authority.notAfter.toISOString()})` });
    return;
  }
  ctx.metrics.issuerReloads.labels('refused').inc();
  ctx.log.error({ reason: o.reason, serving: o.serving }, o.serving ? 'refused new issuer; the current one keeps serving' : 'cannot load issuer; not ready');
  ctx.record({ type: 'Warning', reason: 'IssuerValidationFailed', message: `Refused identity issuer: ${o.reason}` });
}
