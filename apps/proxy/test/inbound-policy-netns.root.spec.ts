// Inbound policy between real pods: two network namespaces with proxy-init's rules and meshed proxies (as in
// mesh-netns.root.spec.ts), and a stub policy controller on the host reached over mTLS like the destination.
// Here clients have their pods' addresses (no loopback exception): the server's Server admits the client
// proxy's identity, refuses a plaintext client outside the mesh, and, once updated to name another identity,
// refuses the client proxy too. Needs root (namespaces, iptables), as CI has.
import type { ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destination, tcpAddress } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { IDENTITY_SVC_NAME, startFakeIdentity, type FakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, startStubDestination, type StubDestination } from './mesh-stub-destination.ts';
import { client, hostLink, metricsOf, PROXY_UID, removePods, sh, startApp, startProxy, stop, twoPods, type Pod } from './netns.ts';
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

async function meshedProxy(pod: Pod, name: string, [hostIp, podIp]: readonly [string, string], extra: Record<string, string> = {}): Promise<ChildProcess> {
  const home = join(dir, pod.ns);
  await mkdir(join(home, 'end-entity'), { recursive: true });
  const token = `token-${name}`;
  await writeFile(join(home, 'token'), token);
  for (const p of [home, join(home, 'end-entity'), join(home, 'token')]) await chown(p, PROXY_UID, PROXY_UID);
  (identity as FakeIdentity).accounts.set(token, name);
  const port = (a: string) => a.slice(a.lastIndexOf(':') + 1);
  return startProxy(pod, {
    TRELLIS_PROXY_PLAINTEXT: 'false',
    LINKERD2_PROXY_IDENTITY_DIR: join(home, 'end-entity'),
    LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(home, 'token'),
    LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: pki.trustAnchorsPem,
    LINKERD2_PROXY_IDENTITY_LOCAL_NAME: name,
    LINKERD2_PROXY_IDENTITY_SVC_ADDR: `${hostIp}:${port((identity as FakeIdentity).addr)}`,
    LINKERD2_PROXY_IDENTITY_SVC_NAME: IDENTITY_SVC_NAME,
    LINKERD2_PROXY_DESTINATION_SVC_ADDR: `${hostIp}:${port((dst as StubDestination).addr)}`,
    LINKERD2_PROXY_DESTINATION_SVC_NAME: DESTINATION_SVC_NAME,
    LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/8',
    LINKERD2_PROXY_INBOUND_IPS: `${pod.ip},${podIp}`,
    ...extra,
  });
}

async function ready(pod: Pod, deadline: number): Promise<void> {
  for (;;) {
    const r = await client<{ status?: number }>(pod, 'get', '127.0.0.1', '4191', '/ready');
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new Error(`proxy in ${pod.ns} not ready: ${JSON.stringify(r)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  pki = await createMeshPki();
  dir = await mkdtemp(join(tmpdir(), 'trellis-policy-netns-'));
  await chown(dir, 0, PROXY_UID);
  await sh('chmod', '0750', dir);
  pods = await twoPods(93, { client: true, server: true });
  made.push(pods.client, pods.server);
  try {
    await hostLink(pods.client, `trp${process.pid % 100000}c`, LINKS.client[0], LINKS.client[1]);
    await hostLink(pods.server, `trp${process.pid % 100000}s`, LINKS.server[0], LINKS.server[1]);
    await sh('ip', '-n', pods.client.ns, 'route', 'add', '10.96.0.0/12', 'dev', 'eth0');
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
      await meshedProxy(pods.server, BOOKS, LINKS.server, {
        LINKERD2_PROXY_POLICY_SVC_ADDR: `${LINKS.server[0]}:${policyPort}`,
        LINKERD2_PROXY_POLICY_SVC_NAME: DESTINATION_SVC_NAME,
        LINKERD2_PROXY_POLICY_WORKLOAD: '{"ns":"test","pod":"books-0"}',
        LINKERD2_PROXY_INBOUND_PORTS: '8080',
      }),
    );
    children.push(await meshedProxy(pods.client, WEB, LINKS.client));
    for (const p of [pods.client, pods.server]) await ready(p, Date.now() + 20_000);
  } catch (err) {
    await cleanup();
    throw err;
  }
}, 90_000);

async function cleanup(): Promise<void> {
  await Promise.all(children.map((c) => stop(c)));
  await identity?.close();
  await dst?.close();
  await policy?.close();
  await removePods(...made.splice(0));
  await rm(dir, { recursive: true, force: true });
}

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
