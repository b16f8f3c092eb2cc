// Inbound policy between real pods: two network namespaces with proxy-init's rules and meshed proxies (as in
// mesh-netns.root.spec.ts), and a stub policy controller on the host reached over mTLS like the destination.
// Here clients have their pods' addresses (no loopback exception): the server's Server admits the client
// proxy's identity, refuses a plaintext client outside the mesh, and, once updated to name another identity,
// refuses the client proxy too. Needs root (namespaces, iptables), as CI has.
import type { ChildProcess } from 'node:child_process';
import { destination, tcpAddress } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { startFakeIdentity, type FakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, startStubDestination, type StubDestination } from './mesh-stub-destination.ts';
import { client, metricsOf, startApp, type Pod } from './netns.ts';
import { linkedPods, meshDir, proxyReady, startMeshedPodProxy, tearDownMesh } from './netns-mesh.ts';
import { authz, detect, server, startPolicyStub, type PolicyStub } from './policy-stub.ts';

const WEB = 'web.test.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.test.serviceaccount.identity.trellis.cluster.local';
const OTHER = 'other.test.serviceaccount.identity.trellis.cluster.local';
const SERVICE_IP = '10.96.0.11';
const FQN = 'books.test.svc.cluster.local';
const LINKS = { client: ['10.245.93.1', '10.245.93.2'], server: ['10.245.93.5', '10.245.93.6'] } as const;

let pki: MeshPki;
let pods: { client: Pod; server: Pod };
const made: Pod[] = [];
let dir: string;
let identity: FakeIdentity | undefined;
let dst: StubDestination | undefined;
let policy: PolicyStub | undefined;
const children: (ChildProcess | undefined)[] = [];

beforeAll(async () => {
  pki = await createMeshPki();
  dir = await meshDir('trellis-policy-netns-');
  pods = await linkedPods(93, 'trp', LINKS);
  made.push(pods.client, pods.server);
  try {
    identity = await startFakeIdentity(pki, { host: '0.0.0.0' });
    dst = await startStubDestination(pki, { host: '0.0.0.0' });
    policy = await startPolicyStub({ pki, host: '0.0.0.0' });
    policy.servers.set(8080, server('books-http', detect(), [authz('web-only', { identities: [WEB] })]));
    dst.profiles.set(`${SERVICE_IP}:8080`, destination.DestinationProfile.fromPartial({ fullyQualifiedName: FQN }));
    dst.services.set(`${FQN}:8080`, [
      destination.Update.fromPartial({
        update: {
          $case: 'add',
          value: {
            metricLabels: { namespace: 'test', service: 'books' },
            addrs: [
              {
                addr: tcpAddress(pods.server.ip, 8080),
                weight: 10000,
                tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } },
                protocolHint: { protocol: { $case: 'h2', value: {} } },
              },
            ],
          },
        },
      }),
    ]);
    const policyPort = policy.addr.slice(policy.addr.lastIndexOf(':') + 1);
    children.push(await startApp(pods.server));
    children.push(
      await startMeshedPodProxy(mesh(), pods.server, BOOKS, LINKS.server, {
        LINKERD2_PROXY_POLICY_SVC_ADDR: `${LINKS.server[0]}:${policyPort}`,
        LINKERD2_PROXY_POLICY_SVC_NAME: DESTINATION_SVC_NAME,
        LINKERD2_PROXY_POLICY_WORKLOAD: '{"ns":"test","pod":"books-0"}',
        LINKERD2_PROXY_INBOUND_PORTS: '8080',
      }),
    );
    children.push(await startMeshedPodProxy(mesh(), pods.client, WEB, LINKS.client));
    for (const p of [pods.client, pods.server]) await proxyReady(p, Date.now() + 20_000);
  } catch (err) {
    await cleanup();
    throw err;
  }
}, 90_000);

function cleanup(): Promise<void> {
  return tearDownMesh(children, [identity, dst, policy], made, dir);
}

/** What each pod's meshed proxy is started with. */
const mesh = () => ({ dir, pki, identity: identity as FakeIdentity, dst: dst as StubDestination });

afterAll(cleanup, 30_000);

describe('inbound policy between meshed pods', () => {
  it("admits the client proxy's identity, refuses a plaintext client outside the mesh, and applies an update to the next request", async () => {
    await expect.poll(() => policy?.requests.some((r) => r.port === 8080 && r.workload === '{"ns":"test","pod":"books-0"}'), { timeout: 10_000 }).toBe(true);
    const ok = await client<{ status: number; body: string }>(pods.client, 'get', SERVICE_IP, '8080', '/client-id');
    expect(ok).toMatchObject({ status: 200, body: `client-id=${WEB}` });

    const outside = await fetch(`http://${LINKS.server[1]}:8080/client-id`);
    expect(outside.status).toBe(403);

    (policy as PolicyStub).push(8080, server('books-http', detect(), [authz('other-only', { identities: [OTHER] })]));
    await expect.poll(async () => (await client<{ status: number }>(pods.client, 'get', SERVICE_IP, '8080', '/client-id')).status, { timeout: 10_000 }).toBe(403);

    const text = await metricsOf(pods.server);
    const srv = `srv_group="policy.linkerd.io",srv_kind="server",srv_name="books-http",srv_port="8080"`;
    const target = `target_addr="${pods.server.ip}:8080",target_ip="${pods.server.ip}",target_port="8080"`;
    expect(sample(text, 'inbound_http_authz_allow_total', `{${target},${srv},route_group="",route_kind="default",route_name="default",authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="web-only",tls="true",client_id="${WEB}"}`)).toBe(1);
    expect(sample(text, 'inbound_http_authz_deny_total', `{${target},${srv},route_group="",route_kind="default",route_name="default",tls="true",client_id="${WEB}"}`)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'inbound_http_authz_deny_total', `target_addr="${LINKS.server[1]}:8080",target_ip="${LINKS.server[1]}",target_port="8080",${srv},route_group="",route_kind="default",route_name="default",tls="no_identity",no_tls_reason="no_tls_from_remote"}`)).toBe(1);
  });
});
