// Builds and starts the dashboard from its config: used by main.ts and the tests.
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/k8s';
import { AdminServer, type Logger, type Registry } from '@trellis/telemetry';
import { Counter } from 'prom-client';
import type { WebConfig } from './config.ts';
import { loadAssets } from './http/assets.ts';
import { buildServer } from './http/server.ts';
import { streamTap, TapStreamError } from '@trellis/tap-view/stream';
import { metricsApiClient } from './upstream/metrics-api.ts';
import { prometheusRangeClient } from './upstream/prometheus.ts';

export interface RunningWeb {
  readonly web: AddressInfo;
  readonly admin: AddressInfo;
  close(): Promise<void>;
}

export async function startWeb(config: WebConfig, deps: { readonly log: Logger; readonly registry: Registry; readonly now?: () => number }): Promise<RunningWeb> {
  const { log, registry } = deps;
  const assets = await loadAssets(config.assetsDir);
  let kc: KubeConfig | undefined;
  const requests = new Counter({ name: 'trellis_web_requests_total', help: 'dashboard requests by route and HTTP status', labelNames: ['route', 'status'] as const, registers: [registry] });
  const app = buildServer(
    {
      assets,
      metricsApi: metricsApiClient(config.metricsApiUrl, config.upstreamTimeoutMs),
      prometheus: prometheusRangeClient(config.prometheusUrl, config.upstreamTimeoutMs),
      grafanaUrl: config.grafanaUrl,
      adminPort: config.proxyAdminPort,
      now: deps.now ?? (() => Date.now() / 1000),
      tap: async (target, onEvent, signal) => {
        // Read on first use: the dashboard serves everything else without Kubernetes credentials.
        if (!kc) {
          try {
            kc = loadKubeConfig({ kubeconfig: config.kubeconfig });
          } catch (err) {
            throw new TapStreamError('TRELLIS_ERR_TAP_UNAVAILABLE', `no Kubernetes credentials to reach the tap API: ${(err as Error).message}`);
          }
        }
        return streamTap(kc, target, onEvent, signal);
      },
    },
    log.child({ part: 'http' }),
  );
  app.addHook('onResponse', async (req, reply) => {
    requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });
  let ready = false;
  const adminServer = new AdminServer({ registry, ready: () => ready });
  const admin = await adminServer.listen(config.adminAddr.port, config.adminAddr.host || undefined);
  await app.listen({ port: config.addr.port, host: config.addr.host || '::' });
  const web = app.server.address() as AddressInfo;
  ready = true;
  log.info({ web: `${web.address}:${web.port}`, admin: `${admin.address}:${admin.port}`, metricsApi: config.metricsApiUrl, prometheus: config.prometheusUrl, grafana: config.grafanaUrl ?? null }, 'web listening');
  return {
    web,
    admin,
    async close() {
      ready = false;
      await app.close();
      await adminServer.close();
    },
  };
}
