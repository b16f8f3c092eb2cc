// Builds and starts the tap API from its config: used by main.ts and the tests.
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '@trellis/config';
import { loadKubeConfig } from '@trellis/k8s';
import { AdminServer, type Logger, type Registry } from '@trellis/telemetry';
import { Counter } from 'prom-client';
import { loadRequestHeaderConfig } from './authn.ts';
import { subjectAccessReviewer } from './authz.ts';
import type { TapApiConfig } from './config.ts';
import { kubePods } from './pods.ts';
import { buildInjectorServer } from './injector/server.ts';
import { buildServer } from './server.ts';

export interface RunningTapApi {
  readonly api: AddressInfo;
  readonly admin: AddressInfo;
  /** The tap injector's webhook, when served. */
  readonly injector: AddressInfo | undefined;
  close(): Promise<void>;
}

async function readPem(flag: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
  }
}

export async function startTapApi(config: TapApiConfig, deps: { readonly log: Logger; readonly registry: Registry; readonly kubeConfig?: KubeConfig }): Promise<RunningTapApi> {
  const { log, registry } = deps;
  const kc = deps.kubeConfig ?? loadKubeConfig({ kubeconfig: config.kubeconfig });
  const taps = new Counter({ name: 'trellis_tap_requests_total', help: 'Tap requests by outcome', labelNames: ['outcome'] as const, registers: [registry] });
  const [cert, key, requestHeader] = await Promise.all([readPem('--tls-cert', config.tlsCertFile), readPem('--tls-key', config.tlsKeyFile), loadRequestHeaderConfig(kc)]);
  const pods = kubePods(kc);
  const app = buildServer(
    { requestHeader, authorize: subjectAccessReviewer(kc), pods: pods.resolve, peerByIp: pods.byIp, tapPort: config.tapPort, tls: { cert, key }, count: (outcome) => taps.inc({ outcome }) },
    log.child({ part: 'api' }),
  );
  const injector = config.injector ? await startInjector(config.injector, kc, log.child({ part: 'injector' }), registry) : undefined;
  let ready = false;
  const adminServer = new AdminServer({ registry, ready: () => ready });
  const admin = await adminServer.listen(config.adminAddr.port, config.adminAddr.host || undefined);
  await app.listen({ port: config.addr.port, host: config.addr.host || '::' });
  const api = app.server.address() as AddressInfo;
  ready = true;
  log.info({ api: `${api.address}:${api.port}`, admin: `${admin.address}:${admin.port}`, ...(injector ? { injector: `${injector.address.address}:${injector.address.port}` } : {}) }, 'tap API listening');
  return {
    api,
    admin,
    injector: injector?.address,
    async close() {
      ready = false;
      await injector?.close();
      await app.close();
      await adminServer.close();
    },
  };
}

async function startInjector(config: NonNullable<TapApiConfig['injector']>, kc: KubeConfig, log: Logger, registry: Registry): Promise<{ address: AddressInfo; close(): Promise<void> }> {
  const [cert, key] = await Promise.all([readPem('--injector-tls-cert', config.tlsCertFile), readPem('--injector-tls-key', config.tlsKeyFile)]);
  const core = kc.makeApiClient(CoreV1Api);
  const admissions = new Counter({ name: 'trellis_tap_injector_admissions_total', help: 'Pods the tap injector was asked about, by outcome', labelNames: ['outcome'] as const, registers: [registry] });
  const server = buildInjectorServer({
    tls: { cert, key },
    log,
    deps: {
      tapServiceName: config.tapServiceName,
      namespaceAnnotations: async (name) => (await core.readNamespace({ name })).metadata?.annotations ?? {},
      onOutcome: (outcome, d) => {
        admissions.inc({ outcome });
        if (outcome === 'injected') log.info({ namespace: d.namespace, pod: d.pod }, 'tap identity added');
        else if (outcome === 'error') log.warn({ namespace: d.namespace, pod: d.pod, err: d.error }, 'pod admitted without the tap identity');
      },
    },
  });
  await server.listen({ port: config.addr.port, host: config.addr.host || '::' });
  return { address: server.server.address() as AddressInfo, close: () => server.close() };
}
