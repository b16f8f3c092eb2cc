// Builds and starts the destination's parts: the index and its watches, the Destination API (8086), the
// policy API (8090), the admin server (9996) and, when configured, the sp-validator webhook (8443).
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@trellis/config';
import { DestinationService, InboundServerPoliciesService, OutboundPoliciesService } from '@trellis/proto';
import { AdminServer, type Logger } from '@trellis/telemetry';
import { createMetrics, type Metrics } from './admin/metrics.ts';
import { destinationApi } from './api/destination-api.ts';
import { OpenStreams, type StreamDeps } from './api/update-stream.ts';
import type { DestinationConfig, ListenAddress } from './config.ts';
import { ClusterIndex } from './index/cluster-index.ts';
import { createWatches, type Watches } from './index/watches.ts';
import { inboundApi } from './policy/inbound-api.ts';
import { outboundApi } from './policy/outbound-api.ts';
import { startSpValidator, type SpValidator } from './webhook/sp-validator.ts';

export interface Destination {
  readonly index: ClusterIndex;
  readonly metrics: Metrics;
  readonly watches: Watches;
  /** Bound ports; `webhook` is -1 when the sp-validator is not enabled. */
  readonly ports: { readonly destination: number; readonly policy: number; readonly admin: number; readonly webhook: number };
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
    const serverOptions = { 'grpc.max_concurrent_streams': 0xffff_ffff, 'grpc.enable_channelz': 0 };
    const dst = new Server(serverOptions);
    dst.addService(DestinationService, destinationApi(cfg, deps));
    const policy = new Server(serverOptions);
    policy.addService(InboundServerPoliciesService, inboundApi(cfg, deps));
    policy.addService(OutboundPoliciesService, outboundApi(cfg, deps));
    undo.push(() => dst.forceShutdown(), () => policy.forceShutdown());
    const [dstPort, policyPort] = await Promise.all([bind(dst, cfg.addr, 'addr'), bind(policy, cfg.policyAddr, 'policy-addr')]);
    let webhook: SpValidator | undefined;
    if (cfg.webhookAddr.port >= 0) {
      webhook = await startSpValidator({
        host: cfg.webhookAddr.host || '0.0.0.0',
        port: cfg.webhookAddr.port,
        certFile: cfg.webhookTlsCert,
        keyFile: cfg.webhookTlsKey,
        clusterDomain: cfg.clusterDomain,
        logger,
      }).catch((err: Error) => {
        throw new ConfigError(`cannot start the sp-validator on ${hostPort(cfg.webhookAddr)} (--sp-validator-addr, --sp-validator-tls-cert, --sp-validator-tls-key): ${err.message}`);
      });
    }
    logger.info({ destination: dstPort, policy: policyPort, admin: adminPort, webhook: webhook?.port ?? -1 }, 'destination serving');

    return {
      index,
      metrics,
      watches,
      ports: { destination: dstPort, policy: policyPort, admin: adminPort, webhook: webhook?.port ?? -1 },
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
        await Promise.all([shutdown(dst), shutdown(policy), webhook?.close()]);
        await watches.stop();
        await admin.close();
      },
    };
  } catch (err) {
    await Promise.allSettled(undo.reverse().map((f) => f()));
    throw err;
  }
}
