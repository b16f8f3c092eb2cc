// A control-plane pod replaced after it vanished without a word, as a Deployment replaces a pod that was
// force-deleted while its network dropped every packet: a meshed pod's proxy dials destination and policy by name
// (the headless Services' names, from /etc/hosts in the proxy's mount namespace: `ip netns exec` binds
// /etc/netns/<ns>/hosts there), the controller behind the name (one process serving Destination and
// InboundServerPolicies, as a destination pod does) starts dropping everything and is killed, the name loses its
// address, and a new controller comes up at a new address that the name then gives. The new controller's inbound
// policy and the endpoints it gives for a service must reach the proxy within 5 s of it being ready: whether it
// comes up after the proxy's keepalive noticed the loss or before, and when the name still answers nothing for
// seconds after it is ready (the cluster DNS cached the empty answer): the proxy then reaches it through the
// Service's address, which the pod's nat table sends to the ready controller as kube-proxy does. Needs root.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destination, inbound, tcpAddress } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { IDENTITY_SVC_NAME, startFakeIdentity, type FakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME } from './mesh-stub-destination.ts';
import { client, hostLink, metricsOf, NODE, PROXY_UID, removePods, sh, startApp, startProxy, stop, twoPods, uniqueName, type Pod } from './netns.ts';
import { authz, detect, server } from './policy-stub.ts';

const CONTROLLER = fileURLToPath(new URL('./fixtures/policy-controller.ts', import.meta.url));
const BOOKS = 'books.test.serviceaccount.identity.trellis.cluster.local';
const OTHER = 'other.test.serviceaccount.identity.trellis.cluster.local';
// Without the trailing dot the chart renders: the hosts file matches names only without it.
const DST_NAME = 'trellis-dst-headless.test.svc.cluster.local';
const POLICY_NAME = 'trellis-policy.test.svc.cluster.local';
const DST_PORT = 8086;
const POLICY_PORT = 8090;
const SERVICE_IP = '10.96.0.12';
/** destination's ClusterIP Service, the proxy's fallback address while the names answer nothing. */
const DST_SERVICE_IP = '10.96.0.20';
const SVC_NAT = 'TRELLIS-TEST-SVC';
const SVC_REJECT = 'TRELLIS-TEST-SVC-REJECT';
const FQN = 'web.test.svc.cluster.local';
/** Addresses of this run, by pid: two runs of the suite on one machine do not collide on the host's side. */
const NET = 150 + (process.pid % 100);
const LINK = [`10.247.${NET}.5`, `10.247.${NET}.6`] as const;
const WITHIN_MS = 5_000;

let pki: MeshPki;
let pod: Pod;
const made: Pod[] = [];
let dir: string;
let etc: string;
let proxyLog = '';
let identity: FakeIdentity | undefined;
const endpoints: Server[] = [];
const children: (ChildProcess | undefined)[] = [];
/** The controller in charge now: its namespace and process. */
let current: { ns: Pod; child: ChildProcess } | undefined;
let generation = 0;
/** A name that comes back late (a cached empty answer): cancelled when the controller it names is replaced first. */
let nameTimer: NodeJS.Timeout | undefined;

/** The names of the control plane, as the pod's resolver sees them: at `ip`, or nowhere. */
async function names(ip: string | undefined): Promise<void> {
  await writeFile(join(etc, 'hosts'), `127.0.0.1 localhost\n${ip ? `${ip} ${DST_NAME} ${POLICY_NAME}\n` : ''}`);
}

/**
 * What controller `g` serves: port 8080 open to everyone (even g) or to another identity only (odd g), and the
 * service's one endpoint, the host's server e<g>.
 */
function expected(g: number): { status: number; body: string } {
  return { status: g % 2 === 0 ? 200 : 403, body: `e${g}` };
}

/** Controller `g` in a new namespace joined to the pod by its own veth pair, at an address no earlier one had. */
async function startController(g: number): Promise<{ ns: Pod; child: ChildProcess }> {
  const ns = { ns: uniqueName(`ctl${g}`), ip: `10.246.${NET}.${4 * g + 2}` };
  made.push(ns);
  await sh('ip', 'netns', 'add', ns.ns);
  await sh('ip', '-n', ns.ns, 'link', 'set', 'lo', 'up');
  const podSide = `cp${g}`;
  await sh('ip', '-n', ns.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', podSide, 'netns', pod.ns);
  await sh('ip', '-n', ns.ns, 'addr', 'add', `${ns.ip}/30`, 'dev', 'eth0');
  await sh('ip', '-n', ns.ns, 'link', 'set', 'eth0', 'up');
  await sh('ip', '-n', pod.ns, 'addr', 'add', `10.246.${NET}.${4 * g + 1}/30`, 'dev', podSide);
  await sh('ip', '-n', pod.ns, 'link', 'set', podSide, 'up');
  // Connections sent to the Service's address leave the pod from its own address, as a pod's do.
  await sh('ip', '-n', ns.ns, 'route', 'add', `${pod.ip}/32`, 'via', `10.246.${NET}.${4 * g + 1}`);

  const own = await pki.issue(DESTINATION_SVC_NAME);
  const policy = g % 2 === 0 ? server('books-http', detect(), [authz('everyone')]) : server('books-http', detect(), [authz('other-only', { identities: [OTHER] })]);
  const admin = server('admin', detect(), [authz('everyone')]);
  const endpoint = endpoints[g]?.address();
  if (!endpoint || typeof endpoint === 'string') throw new Error('endpoint servers not listening');
  const update = destination.Update.fromPartial({
    update: { $case: 'add', value: { metricLabels: { namespace: 'test', service: 'web' }, addrs: [{ addr: tcpAddress(LINK[0], endpoint.port), weight: 10000 }] } },
  });
  const spec = {
    anchors: pki.trustAnchorsPem,
    key: own.tls.key,
    cert: own.tls.cert,
    port: POLICY_PORT,
    servers: { 8080: inbound.Server.toJSON(policy), 4191: inbound.Server.toJSON(admin) },
    dstPort: DST_PORT,
    profiles: { [`${SERVICE_IP}:80`]: destination.DestinationProfile.toJSON(destination.DestinationProfile.fromPartial({ fullyQualifiedName: FQN })) },
    services: { [`${FQN}:80`]: [destination.Update.toJSON(update)] },
  };
  const child = spawn('ip', ['netns', 'exec', ns.ns, NODE, CONTROLLER], { env: { PATH: process.env['PATH'] ?? '', TRELLIS_TEST_CONTROLLER: JSON.stringify(spec) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/ready /.test(out)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`controller ${g} exited ${code}: ${out}`)));
  });
  return { ns, child };
}

/** Gone without a word: every packet in and out of its namespace dropped, then the process killed behind them. */
async function vanish(c: { ns: Pod; child: ChildProcess }): Promise<void> {
  for (const chain of ['INPUT', 'OUTPUT']) await sh('ip', 'netns', 'exec', c.ns.ns, 'iptables', '-w', '-P', chain, 'DROP');
  await stop(c.child);
}

/** kube-proxy's rules for destination's Service in the pod: DNAT to the controller at `ip`, or REJECT when none is ready. */
async function service(ip: string | undefined): Promise<void> {
  const ipt = (...args: string[]) => sh('ip', 'netns', 'exec', pod.ns, 'iptables', '-w', ...args);
  await ipt('-t', 'nat', '-F', SVC_NAT);
  await ipt('-F', SVC_REJECT);
  if (!ip) return void (await ipt('-A', SVC_REJECT, '-d', DST_SERVICE_IP, '-p', 'tcp', '-j', 'REJECT'));
  for (const port of [DST_PORT, POLICY_PORT]) await ipt('-t', 'nat', '-A', SVC_NAT, '-d', DST_SERVICE_IP, '-p', 'tcp', '--dport', String(port), '-j', 'DNAT', '--to-destination', `${ip}:${port}`);
}

const inboundStatus = async () => (await fetch(`http://${LINK[1]}:8080/client-id`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.status;

/** The times at which controller `g`'s policy and endpoint reached the proxy (the pod's client polls every 100 ms). */
async function arrival(g: number, startedBefore: Promise<{ at?: number; timedOut?: boolean; last?: unknown }>, deadline: number): Promise<{ policyAt: number | undefined; endpointAt: number | undefined; last: unknown }> {
  const want = expected(g);
  const policy = (async () => {
    while (Date.now() < deadline) {
      if ((await inboundStatus()) === want.status) return Date.now();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return undefined;
  })();
  const [policyAt, ep] = await Promise.all([policy, startedBefore]);
  return { policyAt, endpointAt: ep.at, last: ep.last };
}

const reconnects = async (rpc: string) => sample(await metricsOf(pod), 'trellis_control_watch_reconnects_total', `rpc="${rpc}"`) ?? 0;
const WATCH_PORT = 'io.linkerd.proxy.inbound.InboundServerPolicies/WatchPort';

beforeAll(async () => {
  pki = await createMeshPki();
  dir = await mkdtemp(join(tmpdir(), 'trellis-cp-replaced-'));
  await chown(dir, 0, PROXY_UID);
  await sh('chmod', '0750', dir);
  // One pod, meshed; its pair namespace goes unused (controllers get their own).
  const pods = await twoPods(NET, { client: false, server: true });
  made.push(pods.client, pods.server);
  pod = pods.server;
  etc = join('/etc/netns', pod.ns);
  try {
    await mkdir(etc, { recursive: true });
    // Names from the hosts file only: a name missing there has no address (NXDOMAIN, as the cluster DNS answers for
    // a headless Service without ready pods), and no lookup waits on a name server.
    await writeFile(join(etc, 'nsswitch.conf'), 'hosts: files\n');
    await writeFile(join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    await hostLink(pod, `trr${process.pid % 100000}s`, LINK[0], LINK[1]);
    await sh('ip', '-n', pod.ns, 'route', 'add', '10.96.0.0/12', 'dev', 'eth0');
    for (const body of ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']) {
      const s = createServer((_req, res) => res.end(body));
      await new Promise<void>((resolve) => s.listen(0, '0.0.0.0', resolve));
      endpoints.push(s);
    }
    identity = await startFakeIdentity(pki, { host: '0.0.0.0' });
    const home = join(dir, 'books');
    await mkdir(join(home, 'end-entity'), { recursive: true });
    await writeFile(join(home, 'token'), 'token-books');
    for (const p of [home, join(home, 'end-entity'), join(home, 'token')]) await chown(p, PROXY_UID, PROXY_UID);
    identity.accounts.set('token-books', BOOKS);
    for (const [table, chain] of [['nat', SVC_NAT], ['filter', SVC_REJECT]] as const) {
      await sh('ip', 'netns', 'exec', pod.ns, 'iptables', '-w', '-t', table, '-N', chain);
      await sh('ip', 'netns', 'exec', pod.ns, 'iptables', '-w', '-t', table, '-I', 'OUTPUT', '1', '-j', chain);
    }
    current = await startController(generation);
    await names(current.ns.ip);
    await service(current.ns.ip);
    children.push(await startApp(pod));
    const px = await startProxy(pod, {
      TRELLIS_PROXY_PLAINTEXT: 'false',
      LINKERD2_PROXY_LOG: 'warn,linkerd=info',
      LINKERD2_PROXY_IDENTITY_DIR: join(home, 'end-entity'),
      LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(home, 'token'),
      LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: pki.trustAnchorsPem,
      LINKERD2_PROXY_IDENTITY_LOCAL_NAME: BOOKS,
      LINKERD2_PROXY_IDENTITY_SVC_ADDR: `${LINK[0]}:${identity.addr.slice(identity.addr.lastIndexOf(':') + 1)}`,
      LINKERD2_PROXY_IDENTITY_SVC_NAME: IDENTITY_SVC_NAME,
      LINKERD2_PROXY_DESTINATION_SVC_ADDR: `${DST_NAME}:${DST_PORT}`,
      LINKERD2_PROXY_DESTINATION_SVC_NAME: DESTINATION_SVC_NAME,
      TRELLIS_PROXY_DESTINATION_SVC_FALLBACK_ADDR: `${DST_SERVICE_IP}:${DST_PORT}`,
      TRELLIS_PROXY_POLICY_SVC_FALLBACK_ADDR: `${DST_SERVICE_IP}:${POLICY_PORT}`,
      LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/8',
      LINKERD2_PROXY_INBOUND_IPS: `${pod.ip},${LINK[1]}`,
      LINKERD2_PROXY_POLICY_SVC_ADDR: `${POLICY_NAME}:${POLICY_PORT}`,
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
  clearTimeout(nameTimer);
  await Promise.all(children.map((c) => stop(c)));
  await identity?.close();
  for (const s of endpoints.splice(0)) s.close();
  await removePods(...made.splice(0));
  if (etc) await rm(etc, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
}

afterAll(cleanup, 30_000);

/**
 * Replaces the controller in charge: it vanishes, and leaves the name and the Service at once (a forced delete) or
 * only when its replacement is ready (a pod on a lost node, deleted later; `serviceKeepsOld`: the Service's rules
 * lag behind the name); the next one comes up at a new address once `wait` resolves, the Service sends to it once it
 * is ready, and the name gives its address then or `nameLagMs` later. Returns the times of loss and of readiness, and when its policy and endpoint arrived.
 */
async function replace(o: { leaveName: boolean; wait: () => Promise<void>; nameLagMs?: number; serviceKeepsOld?: boolean }) {
  const old = current as { ns: Pod; child: ChildProcess };
  // From a known state: the controller in charge is the one the proxy follows.
  await expect.poll(inboundStatus, { timeout: 10_000, interval: 200 }).toBe(expected(generation).status);
  const g = ++generation;
  // The pod's client starts polling now, so that its start-up is not counted.
  const endpoint = client<{ at?: number; timedOut?: boolean; last?: unknown }>(pod, 'until', SERVICE_IP, '80', expected(g).body);
  const lost = Date.now();
  await vanish(old);
  clearTimeout(nameTimer);
  if (o.leaveName) {
    await names(undefined);
    if (!o.serviceKeepsOld) await service(undefined);
  }
  await o.wait();
  current = await startController(g);
  await service(current.ns.ip);
  const ready = Date.now();
  const ip = current.ns.ip;
  if (o.nameLagMs) nameTimer = setTimeout(() => void names(ip).catch(() => undefined), o.nameLagMs);
  else await names(ip);
  const got = await arrival(g, endpoint, ready + 60_000);
  const since = (t: number | undefined, from: number) => (t === undefined ? 'never' : `${t - from} ms`);
  console.log(
    `[control-plane-replaced] controller ${g} (${o.leaveName ? 'old one deleted at once' : 'old one in the name until then'}): ready ${ready - lost} ms after the loss; its policy enforced ${since(got.policyAt, ready)} and its endpoint used ${since(got.endpointAt, ready)} after it was ready (${since(got.policyAt, lost)} / ${since(got.endpointAt, lost)} after the loss)`,
  );
  const tail = proxyLog.slice(-6000);
  expect(got.policyAt, tail).toBeDefined();
  expect(got.endpointAt, `${JSON.stringify(got.last)}\n${tail}`).toBeDefined();
  expect((got.policyAt as number) - ready, tail).toBeLessThan(WITHIN_MS);
  expect((got.endpointAt as number) - ready, tail).toBeLessThan(WITHIN_MS);
}

/** Until the proxy's inbound watch has re-subscribed since `before` (it noticed the loss), then 2 s more. */
async function noticed(before: number): Promise<void> {
  await expect.poll(() => reconnects(WATCH_PORT), { timeout: 30_000, interval: 500 }).toBeGreaterThan(before);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
}

describe('a destination controller replaced after it vanished without a reset', () => {
  it("serves the first controller's policy and endpoint", async () => {
    await expect.poll(inboundStatus, { timeout: 30_000, interval: 200 }).toBe(expected(0).status);
    const r = await client<{ at?: number; last?: unknown }>(pod, 'until', SERVICE_IP, '80', expected(0).body);
    expect(r.at, JSON.stringify(r)).toBeDefined();
  }, 90_000);

  it('is followed within 5 s of its replacement being ready when the name kept the old address until then (noticed by the keepalive)', async () => {
    const before = await reconnects(WATCH_PORT);
    await replace({ leaveName: false, wait: () => noticed(before) });
  }, 150_000);

  it('is followed within 5 s of its replacement being ready when it left the name at once and the replacement came up after the proxy noticed', async () => {
    const before = await reconnects(WATCH_PORT);
    await replace({ leaveName: true, wait: () => noticed(before) });
  }, 150_000);

  it('is followed within 5 s of its replacement being ready when the replacement is ready before the keepalive could notice the loss', async () => {
    await replace({ leaveName: true, wait: () => new Promise((resolve) => setTimeout(resolve, 1_000)) });
  }, 150_000);

  it('is followed within 5 s of its replacement being ready when the name answers nothing for 7 s more (a cached empty answer): through the Service', async () => {
    // Within 5 s while the name gives the new address only after 7: only the Service's address can have done it.
    const before = await reconnects(WATCH_PORT);
    await replace({ leaveName: true, wait: () => noticed(before), nameLagMs: 7_000 });
  }, 150_000);

  it('is followed within 5 s of its replacement being ready through the Service when the Service sent to the vanished one until then', async () => {
    // Each attempt on the Service's address hangs for the 7 s until then; the next is not given longer than the first
    // (doubling, the attempt begun 6 s in would hang until 14 s).
    const before = await reconnects(WATCH_PORT);
    const wait = async () => {
      await noticed(before);
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    };
    await replace({ leaveName: true, wait, nameLagMs: 7_000, serviceKeepsOld: true });
  }, 150_000);

  it('is followed within 5 s of its replacement being ready when the controller it reached through the Service vanishes too', async () => {
    // The proxy follows a controller through the Service while the name answers nothing; that controller is lost in
    // turn (the name still empty), and the next comes up a second later: the Service's client must notice.
    const before = await reconnects(WATCH_PORT);
    await replace({ leaveName: true, wait: () => noticed(before), nameLagMs: 60_000 });
    await replace({ leaveName: true, wait: () => new Promise((resolve) => setTimeout(resolve, 1_000)), nameLagMs: 7_000 });
  }, 150_000);
});
