// A control-plane peer that vanishes without a word: a meshed pod's proxy watches its inbound port's policy on a
// policy controller that runs in its own network namespace; the controller's link and namespace are deleted and
// its process killed after, so no FIN or RST ever reaches the proxy. The proxy must notice through its HTTP/2
// keepalive (a PING every 10 s, 3 s to answer) rather than at the stream's 5 min idle timeout, and watch again
// once a new controller answers at the address: the new controller's policy is then enforced. Needs root.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inbound } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { IDENTITY_SVC_NAME, startFakeIdentity, type FakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, startStubDestination, type StubDestination } from './mesh-stub-destination.ts';
import { hostLink, metricsOf, NODE, PROXY_UID, removePods, sh, startApp, startProxy, stop, twoPods, uniqueName, type Pod } from './netns.ts';
import { authz, detect, server } from './policy-stub.ts';

const CONTROLLER = fileURLToPath(new URL('./fixtures/policy-controller.ts', import.meta.url));
const BOOKS = 'books.test.serviceaccount.identity.trellis.cluster.local';
const OTHER = 'other.test.serviceaccount.identity.trellis.cluster.local';
const POLICY_PORT = 8090;
/** Addresses of this run (10.244.<n>.0/24, 10.245.<n>.4/30), by pid: two runs of the suite on one machine do not collide. */
const NET = 150 + (process.pid % 100);
const LINK = [`10.245.${NET}.5`, `10.245.${NET}.6`] as const;
const WATCH_PORT = 'rpc="io.linkerd.proxy.inbound.InboundServerPolicies/WatchPort"';
/** The keepalive interval and timeout of control connections (identity/control-tls.ts), and room for a loaded machine. */
const NOTICE_WITHIN_MS = 10_000 + 3_000 + 3_000;

let pki: MeshPki;
let pods: { client: Pod; server: Pod };
const made: Pod[] = [];
let dir: string;
/** The proxy's log, kept for the failure message (and so that its pipe never fills). */
let proxyLog = '';
let identity: FakeIdentity | undefined;
let dst: StubDestination | undefined;
const children: (ChildProcess | undefined)[] = [];

/** The policy controller as a process in `ns`, serving `srv` for port 8080 (and an open admin port). */
async function controller(ns: string, srv: inbound.Server): Promise<ChildProcess> {
  const own = await pki.issue(DESTINATION_SVC_NAME);
  const admin = server('admin', detect(), [authz('everyone')]);
  const spec = { anchors: pki.trustAnchorsPem, key: own.tls.key, cert: own.tls.cert, port: POLICY_PORT, servers: { 8080: inbound.Server.toJSON(srv), 4191: inbound.Server.toJSON(admin) } };
  const child = spawn('ip', ['netns', 'exec', ns, NODE, CONTROLLER], { env: { PATH: process.env['PATH'] ?? '', TRELLIS_TEST_CONTROLLER: JSON.stringify(spec) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/ready /.test(out)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`policy controller exited ${code}: ${out}`)));
  });
  return child;
}

/** A namespace for a controller, joined to the server pod by a new veth pair (the pod's eth0) at its first address. */
async function controllerNs(): Promise<Pod> {
  const ns = { ns: uniqueName('ctl'), ip: pods.client.ip };
  made.push(ns);
  await sh('ip', 'netns', 'add', ns.ns);
  await sh('ip', '-n', ns.ns, 'link', 'set', 'lo', 'up');
  await sh('ip', '-n', ns.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pods.server.ns);
  for (const [p, ip] of [[ns.ns, ns.ip], [pods.server.ns, pods.server.ip]] as const) {
    await sh('ip', '-n', p, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await sh('ip', '-n', p, 'link', 'set', 'eth0', 'up');
  }
  return ns;
}

const webStatus = async () => (await fetch(`http://${LINK[1]}:8080/client-id`).catch(() => undefined))?.status;

beforeAll(async () => {
  pki = await createMeshPki();
  dir = await mkdtemp(join(tmpdir(), 'trellis-cp-vanish-'));
  await chown(dir, 0, PROXY_UID);
  await sh('chmod', '0750', dir);
  // The "client" namespace is the first controller's: it shares the server pod's veth at 10.244.<n>.1.
  pods = await twoPods(NET, { client: false, server: true });
  made.push(pods.client, pods.server);
  try {
    await hostLink(pods.server, `trv${process.pid % 100000}s`, LINK[0], LINK[1]);
    identity = await startFakeIdentity(pki, { host: '0.0.0.0' });
    dst = await startStubDestination(pki, { host: '0.0.0.0' });
    const home = join(dir, 'books');
    await mkdir(join(home, 'end-entity'), { recursive: true });
    await writeFile(join(home, 'token'), 'token-books');
    for (const p of [home, join(home, 'end-entity'), join(home, 'token')]) await chown(p, PROXY_UID, PROXY_UID);
    identity.accounts.set('token-books', BOOKS);
    const port = (a: string) => a.slice(a.lastIndexOf(':') + 1);
    await controller(pods.client.ns, server('books-http', detect(), [authz('everyone')]));
    children.push(await startApp(pods.server));
    const px = await startProxy(pods.server, {
        TRELLIS_PROXY_PLAINTEXT: 'false',
        LINKERD2_PROXY_IDENTITY_DIR: join(home, 'end-entity'),
        LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(home, 'token'),
        LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: pki.trustAnchorsPem,
        LINKERD2_PROXY_IDENTITY_LOCAL_NAME: BOOKS,
        LINKERD2_PROXY_IDENTITY_SVC_ADDR: `${LINK[0]}:${port(identity.addr)}`,
        LINKERD2_PROXY_IDENTITY_SVC_NAME: IDENTITY_SVC_NAME,
        LINKERD2_PROXY_DESTINATION_SVC_ADDR: `${LINK[0]}:${port(dst.addr)}`,
        LINKERD2_PROXY_DESTINATION_SVC_NAME: DESTINATION_SVC_NAME,
        LINKERD2_PROXY_INBOUND_IPS: `${pods.server.ip},${LINK[1]}`,
        LINKERD2_PROXY_POLICY_SVC_ADDR: `${pods.client.ip}:${POLICY_PORT}`,
        LINKERD2_PROXY_POLICY_SVC_NAME: DESTINATION_SVC_NAME,
        LINKERD2_PROXY_POLICY_WORKLOAD: '{"ns":"test","pod":"books-0"}',
        LINKERD2_PROXY_INBOUND_PORTS: '8080',
      });
    px.stdout?.on('data', (b: Buffer) => (proxyLog += b.toString()));
    px.stderr?.on('data', (b: Buffer) => (proxyLog += b.toString()));
    children.push(px);
  } catch (err) {
    await cleanup();
    throw err;
  }
}, 90_000);

async function cleanup(): Promise<void> {
  await Promise.all(children.map((c) => stop(c)));
  await identity?.close();
  await dst?.close();
  await removePods(...made.splice(0));
  await rm(dir, { recursive: true, force: true });
}

afterAll(cleanup, 30_000);

describe('a policy controller that vanishes without a reset', () => {
  it('is noticed within the keepalive timeout, and the controller that replaces it is watched and enforced', async () => {
    await expect.poll(webStatus, { timeout: 20_000 }).toBe(200);
    await expect.poll(async () => sample(await metricsOf(pods.server), 'trellis_control_watches', `${WATCH_PORT},state="live"`), { timeout: 10_000 }).toBe(2);

    const reconnects = async () => sample(await metricsOf(pods.server), 'trellis_control_watch_reconnects_total', WATCH_PORT) ?? 0;
    const before = await reconnects();
    // Gone: the link first (so nothing the dying process sends can arrive), then the process and the namespace.
    const vanished = Date.now();
    await sh('ip', '-n', pods.server.ns, 'link', 'del', 'eth0');
    await stop(children[0]);
    await removePods(pods.client);
    // The watch is still in force meanwhile: the last policy stays.
    expect(await webStatus()).toBe(200);

    // Both watches (port 8080 and the admin port) were on the vanished connection.
    await expect.poll(reconnects, { timeout: NOTICE_WITHIN_MS + 10_000, interval: 250 }).toBeGreaterThanOrEqual(before + 2);
    // When the proxy noticed, by its own log line's time (scraping metrics from inside the namespace is slow).
    const noticed = proxyLog
      .split('\n')
      .filter((l) => l.includes('Policy stream failed; reconnecting') && l.includes('"port":"8080"'))
      .map((l) => (JSON.parse(l) as { time: number }).time)
      .find((t) => t >= vanished);
    const noticedMs = (noticed ?? Date.now()) - vanished;
    console.log(`[control-plane-vanishes] the proxy noticed the vanished controller after ${noticedMs} ms`);
    expect(noticedMs, proxyLog.slice(-4000)).toBeLessThan(NOTICE_WITHIN_MS);

    // A new controller at the same address, whose Server admits only another identity: this host is refused.
    const replaced = await controllerNs();
    const back = Date.now();
    await controller(replaced.ns, server('books-http', detect(), [authz('other-only', { identities: [OTHER] })]));
    await expect.poll(webStatus, { timeout: 10_000, interval: 100 }).toBe(403);
    console.log(`[control-plane-vanishes] the new controller's policy was enforced ${Date.now() - back} ms after it started`);
    const text = await metricsOf(pods.server);
    expect(sample(text, 'trellis_control_watches', `${WATCH_PORT},state="live"`)).toBe(2);
    expect(sample(text, 'control_response_total', `addr="${pods.client.ip}:${POLICY_PORT}",tls="true",server_id="${DESTINATION_SVC_NAME}",status_code="200",classification="failure",grpc_status="14"`)).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
