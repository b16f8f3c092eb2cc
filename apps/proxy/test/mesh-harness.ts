// A meshed proxy in process: startProxy with the LINKERD2_PROXY_* identity and destination variables the
// injector renders, against the fake identity service and the stub destination (plaintext on loopback, as the
// proxy speaks to loopback control-plane addresses). Original destinations come from the test.
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProxyConfig } from '../src/config.ts';
import { createProxyLog } from '../src/log.ts';
import { startProxy, type RunningProxy } from '../src/proxy.ts';
import type { Destination } from '../src/tcp/accept.ts';
import { IDENTITY_SVC_NAME, type FakeIdentity } from './mesh-fake-identity.ts';
import type { MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, type StubDestination } from './mesh-stub-destination.ts';

export interface MeshedProxy {
  readonly proxy: RunningProxy;
  readonly identity: string;
  /** Where the next accepted connection "was going" (per listener side); inbound may also be the lookup itself. */
  outboundTarget: Destination;
  inboundTarget: Destination | ((s: Socket) => Destination);
  readonly outboundPort: number;
  readonly inboundPort: number;
  readonly adminUrl: string;
  metrics(): Promise<string>;
}

export interface MeshedProxyOptions {
  readonly pki: MeshPki;
  readonly identitySvc: FakeIdentity;
  readonly destination: StubDestination;
  /** The proxy's identity; the fake identity service is taught the token for it. */
  readonly identity: string;
  readonly env?: Record<string, string>;
}

export async function startMeshedProxy(o: MeshedProxyOptions): Promise<MeshedProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-proxy-'));
  const token = `token-${o.identity}`;
  await writeFile(join(dir, 'token'), token);
  o.identitySvc.accounts.set(token, o.identity);
  const env: Record<string, string> = {
    LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS: '127.0.0.1:0',
    LINKERD2_PROXY_INBOUND_LISTEN_ADDR: '127.0.0.1:0',
    LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '127.0.0.1:0',
    LINKERD2_PROXY_LOG: 'off',
    LINKERD2_PROXY_IDENTITY_DIR: join(dir, 'end-entity'),
    LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(dir, 'token'),
    LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: o.pki.trustAnchorsPem,
    LINKERD2_PROXY_IDENTITY_LOCAL_NAME: o.identity,
    LINKERD2_PROXY_IDENTITY_SVC_ADDR: o.identitySvc.addr,
    LINKERD2_PROXY_IDENTITY_SVC_NAME: IDENTITY_SVC_NAME,
    LINKERD2_PROXY_IDENTITY_MIN_REFRESH: '100ms',
    LINKERD2_PROXY_DESTINATION_SVC_ADDR: o.destination.addr,
    LINKERD2_PROXY_DESTINATION_SVC_NAME: DESTINATION_SVC_NAME,
    LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/8,127.0.0.0/8',
    LINKERD2_PROXY_DESTINATION_CONTEXT: '{"ns":"default","nodeName":"node-1","pod":"web-0"}',
    ...o.env,
  };
  const cfg = parseProxyConfig(env);
  const h = { outboundTarget: { ip: '127.0.0.1', port: 1 } as Destination, inboundTarget: { ip: '127.0.0.1', port: 1 } as MeshedProxy['inboundTarget'] };
  let inboundPort = 0;
  const proxy = await startProxy(cfg, {
    log: createProxyLog('off', { write: () => undefined }),
    env,
    // The same resolver serves both listeners; the local port tells them apart.
    resolve: (s: Socket) => (s.localPort !== inboundPort ? h.outboundTarget : typeof h.inboundTarget === 'function' ? h.inboundTarget(s) : h.inboundTarget),
    onShutdownRequest: () => undefined,
  });
  inboundPort = proxy.inbound.port;
  const adminUrl = `http://127.0.0.1:${proxy.admin.port}`;
  return Object.assign(h, {
    proxy,
    identity: o.identity,
    outboundPort: (proxy.outbound[0] as AddressInfo).port,
    inboundPort,
    adminUrl,
    metrics: async () => (await fetch(`${adminUrl}/metrics`)).text(),
  });
}
