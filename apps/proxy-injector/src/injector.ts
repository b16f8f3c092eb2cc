// Builds and starts the injector's parts from its config: used by main.ts, the integration tests and the
// benchmark (which pass their own Cluster).
import type { AddressInfo } from 'node:net';
import type { Logger, Registry } from '@trellis/telemetry';
import { loadKubeConfig } from '@trellis/k8s';
import { AdminServer } from '@trellis/telemetry';
import type { InjectorConfig } from './config.ts';
import type { Cluster } from './kube/cluster.ts';
import { WatchedCluster } from './kube/watched-cluster.ts';
import { readKeyPair, reloadOnChange } from './tls/certificate.ts';
import { loadValues, ValuesSource } from './values/values-source.ts';
import { AdmissionHandler } from './webhook/admission.ts';
import { InjectorMetrics } from './webhook/metrics.ts';
import { buildWebhookServer } from './webhook/server.ts';

export interface RunningInjector {
  readonly webhook: AddressInfo;
  readonly admin: AddressInfo;
  close(): Promise<void>;
}

export async function startInjector(
  config: InjectorConfig,
  deps: { readonly log: Logger; readonly registry: Registry; readonly cluster?: Cluster },
): Promise<RunningInjector> {
  const { log, registry } = deps;
  // Everything the webhook needs is checked before it listens: bad files fail the start with their names.
  const values = new ValuesSource(loadValues(config.valuesFile, config.trustAnchorsFile));
  const pair = readKeyPair(config.tlsCertFile, config.tlsKeyFile);
  let watched: WatchedCluster | undefined;
  if (!deps.cluster) {
    watched = new WatchedCluster(loadKubeConfig({ kubeconfig: config.kubeconfig }), log.child({ part: 'kube' }));
    // Serve even if the namespace watch is slow to sync: lookups fall back to the API meanwhile.
    if (!(await watched.start(10_000))) log.warn('namespace watch not synced after 10 s; reading namespaces from the API until it is');
  }
  const cluster: Cluster = deps.cluster ?? (watched as WatchedCluster);

  const handler = new AdmissionHandler({
    values: () => values.current,
    cluster,
    metrics: new InjectorMetrics(registry),
    log: log.child({ part: 'webhook' }),
    controlPlaneNamespace: config.controlPlaneNamespace,
  });
  const app = buildWebhookServer({ ...pair, handler, log });
  let ready = false;
  const admin = new AdminServer({ registry, ready: () => ready });

  values.watch(config.valuesFile, config.trustAnchorsFile, {
    reloaded: () => log.info({ file: config.valuesFile }, 'values reloaded'),
    failed: (err) => log.error({ err: (err as Error).message }, 'values reload failed; keeping the previous values'),
  });
  const tlsWatch = reloadOnChange(config.tlsCertFile, config.tlsKeyFile, app.server as unknown as { setSecureContext: (o: object) => void }, {
    reloaded: () => log.info({ file: config.tlsCertFile }, 'webhook certificate reloaded'),
    failed: (err) => log.error({ err: (err as Error).message }, 'webhook certificate reload failed; keeping the previous one'),
  });

  const adminAddr = await admin.listen(config.adminAddr.port, config.adminAddr.host || undefined);
  await app.listen({ port: config.addr.port, host: config.addr.host || '::' });
  const webhook = app.server.address() as AddressInfo;
  ready = true;
  log.info({ webhook: `${webhook.address}:${webhook.port}`, admin: `${adminAddr.address}:${adminAddr.port}` }, 'proxy-injector listening');

  return {
    webhook,
    admin: adminAddr,
    async close() {
      ready = false;
      tlsWatch.close();
      values.close();
      await app.close();
      await admin.close();
      await watched?.stop();
    },
  };
}
