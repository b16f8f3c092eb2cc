// Builds and starts the destination's parts: the index and its watches, the Destination API (8086), the
// policy API (8090), the admin server (9996) and, when configured, the sp-validator (8443) and policy-validator
// (9443) webhooks.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@trellis/config';
import { DestinationService, InboundServerPoliciesService, OutboundPoliciesService } from '@trellis/proto';
import { AdminServer, type Logger } from '@trellis/telemetry';
import { createGrpcTracing } from '@trellis/telemetry/grpc-tracing';
import { createMetrics, type Metrics } from './admin/metrics.ts';
import { destinationApi } from './api/destination-api.ts';
import { OpenStreams, type StreamDeps } from './api/update-stream.ts';
import type { DestinationConfig, ListenAddress } from './config.ts';
import { ClusterIndex } from './index/cluster-index.ts';
import { createWatches, type Watches } from './index/watches.ts';
import { inboundApi } from './policy/inbound-api.ts';
import { outboundApi } from './policy/outbound-api.ts';
import type { Validator } from './webhook/admission-review.ts';
import { startAdmissionServer, type AdmissionServer } from './webhook/admission-server.ts';
import { apiServerServers } from './webhook/list-servers.ts';
import { policyValidator } from './webhook/policy-validator.ts';
import { serviceProfileValidator } from './webhook/sp-validator.ts';

export interface Destination {
  readonly index: ClusterIndex;
  readonly metrics: Metrics;
  readonly watches: Watches;
  /** Bound ports; `webhook` (sp-validator) and `policyValidator` are -1 when not enabled. */
  readonly ports: { readonly destination: number; readonly policy: number; readonly admin: number; readonly webhook: number; readonly policyValidator: number };
  /** Streams open on both gRPC servers. */
  readonly openStreams: () => number;
  /** Ends every stream (status OK), stops the servers and the watches. */
  close(): Promise<void>;
}

// An empty host means every interface; grpc-js wants an explicit one.
function hostPort(a: ListenAddress): string {
  const host = a.host === '' ? '0.0.0.0' : a.host;
  return host.includes(':') ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

async function bind(server: Server, addr: ListenAddress, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(hostPort(addr), ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(new ConfigError(`cannot listen on ${hostPort(addr)} (--${flag}): ${err.message}`)) : resolve(port),
    );
  });
}

/** Starts one validating webhook on `addr` (none when its port is -1); a failure names the flags to fix. */
async function startWebhook(
  addr: ListenAddress,
  o: { name: string; flags: string; certFile: string; keyFile: string; logger: Logger; validate: Validator },
): Promise<AdmissionServer | undefined> {
  if (addr.port < 0) return undefined;
  return startAdmissionServer({ name: o.name, host: addr.host || '0.0.0.0', port: addr.port, certFile: o.certFile, keyFile: o.keyFile, logger: o.logger, validate: o.validate }).catch((err: Error) => {
    throw new ConfigError(`cannot start the ${o.name} on ${hostPort(addr)} (${o.flags}): ${err.message}`);
  });
}

export async function startDestination(cfg: DestinationConfig, opts: { kubeConfig: KubeConfig; logger: Logger }): Promise<Destination> {
  const { logger } = opts;
  const index = new ClusterIndex();
  const watches = createWatches(opts.kubeConfig, index, { logger: logger.child({ component: 'watch' }) });
  const metrics = createMetrics({
    sizes: () => index.sizes(),
    watchRestarts: () => Object.fromEntries(watches.caches.map((c) => [c.resource, c.restarts])),
  });
  // Whatever started before a failure is stopped again, so a failed start exits instead of hanging.
  const undo: (() => unknown)[] = [];
  try {
    const admin = new AdminServer({ registry: metrics.registry, ready: () => watches.synced() });
    const adminPort = (
      await admin.listen(cfg.adminAddr.port, cfg.adminAddr.host || undefined).catch((err: Error) => {
        throw new ConfigError(`cannot listen on ${hostPort(cfg.adminAddr)} (--metrics-addr): ${err.message}`);
      })
    ).port;
    undo.push(() => admin.close(), () => watches.stop());
    await watches.start();
    logger.info({ sizes: index.sizes() }, 'watch caches synced');

    const streams = new OpenStreams();
    const deps: StreamDeps = { index, metrics, logger, streams, capacity: cfg.streamQueueCapacity };
    // Proxies keep hundreds of streams on one connection; Linkerd leaves the stream limit unset as well.
    // Channelz bookkeeping costs on every call and nothing here reads it.
    const tracing = cfg.traceCollector ? createGrpcTracing({ collector: cfg.traceCollector, serviceName: 'trellis-destination' }) : undefined;
    const serverOptions = { 'grpc.max_concurrent_streams': 0xffff_ffff, 'grpc.enable_channelz': 0, ...(tracing ? { interceptors: [tracing.interceptor] } : {}) };
    const dst = new Server(serverOptions);
    dst.addService(DestinationService, destinationApi(cfg, deps));
    const policy = new Server(serverOptions);
    policy.addService(InboundServerPoliciesService, inboundApi(cfg, deps));
    policy.addService(OutboundPoliciesService, outboundApi(cfg, deps));
    undo.push(() => dst.forceShutdown(), () => policy.forceShutdown());
    const [dstPort, policyPort] = await Promise.all([bind(dst, cfg.addr, 'addr'), bind(policy, cfg.policyAddr, 'policy-addr')]);
    const webhook = await startWebhook(cfg.webhookAddr, {
      name: 'sp-validator',
      flags: '--sp-validator-addr, --sp-validator-tls-cert, --sp-validator-tls-key',
      certFile: cfg.webhookTlsCert,
      keyFile: cfg.webhookTlsKey,
      logger,
      validate: serviceProfileValidator(cfg.clusterDomain),
    });
    if (webhook) undo.push(() => webhook.close());
    const policyWebhook = await startWebhook(cfg.policyValidatorAddr, {
      name: 'policy-validator',
      flags: '--policy-validator-addr, --policy-validator-tls-cert, --policy-validator-tls-key',
      certFile: cfg.policyValidatorTlsCert,
      keyFile: cfg.policyValidatorTlsKey,
      logger,
      validate: policyValidator({ listServers: apiServerServers(opts.kubeConfig) }),
    });
    const ports = { destination: dstPort, policy: policyPort, admin: adminPort, webhook: webhook?.port ?? -1, policyValidator: policyWebhook?.port ?? -1 };
    logger.info(ports, 'destination serving');

    return {
      index,
      metrics,
      watches,
      ports,
      openStreams: () => streams.size,
      async close() {
        streams.closeAll();
        const shutdown = (s: Server) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => s.forceShutdown(), 5000);
            s.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        await Promise.all([shutdown(dst), shutdown(policy), webhook?.close(), policyWebhook?.close()]);
        await watches.stop();
        await admin.close();
        // Queued spans are sent within the exporter's timeout; a dead collector does not hold the exit.
        await tracing?.shutdown().catch(() => undefined);
      },
    };
  } catch (err) {
    await Promise.allSettled(undo.reverse().map((f) => f()));
    throw err;
  }
}
