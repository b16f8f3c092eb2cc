// Builds and starts the metrics API from its config: used by main.ts and the tests (which may pass their own
// Kubernetes client configuration and clock).
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/k8s';
import { AdminServer, type Logger, type Registry } from '@trellis/telemetry';
import { Counter } from 'prom-client';
import type { MetricsApiConfig } from './config.ts';
import { buildServer } from './http/server.ts';
import { kubeRouteSources } from './kube/route-sources.ts';
import { kubeWorkloads } from './kube/workloads.ts';
import { prometheusClient } from './prometheus/client.ts';

export interface RunningMetricsApi {
  readonly api: AddressInfo;
  readonly admin: AddressInfo;
  close(): Promise<void>;
}

export async function startMetricsApi(
  config: MetricsApiConfig,
  deps: { readonly log: Logger; readonly registry: Registry; readonly kubeConfig?: KubeConfig; readonly now?: () => number },
): Promise<RunningMetricsApi> {
  const { log, registry } = deps;
  const kc = deps.kubeConfig ?? loadKubeConfig({ kubeconfig: config.kubeconfig });
  const requests = new Counter({ name: 'trellis_metrics_api_requests_total', help: 'API requests by route and HTTP status', labelNames: ['route', 'status'] as const, registers: [registry] });
  const app = buildServer(
    {
      prometheus: prometheusClient(config.prometheusUrl, config.prometheusTimeoutMs),
      workloads: kubeWorkloads(kc, config.controlPlaneNamespace),
      routeSources: kubeRouteSources(kc),
      adminPort: config.proxyAdminPort,
      now: deps.now ?? (() => Date.now() / 1000),
    },
    log.child({ part: 'api' }),
  );
  app.addHook('onResponse', async (req, reply) => {
    requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });
  let ready = false;
  const adminServer = new AdminServer({ registry, ready: () => ready });
  const admin = await adminServer.listen(config.adminAddr.port, config.adminAddr.host || undefined);
  await app.listen({ port: config.addr.port, host: config.addr.host || '::' });
  const api = app.server.address() as AddressInfo;
  ready = true;
  log.info({ api: `${api.address}:${api.port}`, admin: `${admin.address}:${admin.port}`, prometheus: config.prometheusUrl }, 'metrics-api listening');
  return {
    api,
    admin,
    async close() {
      ready = false;
      await app.close();
      await adminServer.close();
    },
  };
}
