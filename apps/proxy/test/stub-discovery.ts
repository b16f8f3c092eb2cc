// Discovery (the proxy's own, src/discovery/) against the stub destination, plaintext on loopback, for specs that
// need profiles and endpoints without a whole proxy.
import { parseCidrList } from '@trellis/config';
import { Discovery } from '../src/discovery/discovery.ts';
import { destinationClients } from '../src/discovery/grpc-destination.ts';
import { controlAddr } from '../src/identity/env.ts';
import { startStubDestination, type StubDestination } from './mesh-stub-destination.ts';

const noPki = undefined as unknown as Parameters<typeof startStubDestination>[0];
const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined };

export interface StubDiscovery {
  readonly stub: StubDestination;
  readonly discovery: Discovery;
  close(): Promise<void>;
}

/** `idleTimeoutMs`: how long an unused watch outlives its last holder. */
export async function startStubDiscovery(idleTimeoutMs: number): Promise<StubDiscovery> {
  const stub = await startStubDestination(noPki, { tls: false });
  const config = {
    svcAddr: controlAddr('LINKERD2_PROXY_DESTINATION_SVC_ADDR', stub.addr),
    svcName: '',
    contextToken: '{"ns":"default"}',
    profileNetworks: parseCidrList('X', '10.0.0.0/8'),
    profileSuffixes: ['svc.cluster.local.'],
    streamInitialTimeoutMs: 3_000,
    streamIdleTimeoutMs: 300_000,
    streamLifetimeMs: 3_600_000,
    idleTimeoutMs,
    profileInitialTimeoutMs: 500,
  };
  const clients = destinationClients(config, '', { current: () => undefined });
  const discovery = new Discovery(config, clients.get, quiet, { ready: clients.ready });
  return {
    stub,
    discovery,
    async close() {
      discovery.close();
      clients.close();
      await stub.close();
    },
  };
}
