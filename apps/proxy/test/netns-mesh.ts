// Meshed pods for the namespace tests: each pod's proxy started as the injector starts it, with its token and
// identity directory readable by uid 2102, getting its certificate from the fake identity service and its
// discovery from the stub destination, both run by the test on the host and reached over the pod's control link
// (netns.ts hostLink). Needs root.
import type { ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDENTITY_SVC_NAME, type FakeIdentity } from './mesh-fake-identity.ts';
import type { MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, type StubDestination } from './mesh-stub-destination.ts';
import { client, hostLink, PROXY_UID, removePods, sh, startProxy, stop, twoPods, type Pod } from './netns.ts';

export interface MeshControl {
  /** A directory from meshDir: each pod's proxy keeps its token and certificate under it. */
  readonly dir: string;
  readonly pki: MeshPki;
  readonly identity: FakeIdentity;
  readonly dst: StubDestination;
}

/** A temporary directory uid 2102 may enter (and nobody else). */
export async function meshDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chown(dir, 0, PROXY_UID);
  await sh('chmod', '0750', dir);
  return dir;
}

/** Control links of a client and a server pod: [host side, pod side] each, in 10.245/16 (outside the pod network). */
export interface PodLinks {
  readonly client: readonly [string, string];
  readonly server: readonly [string, string];
}

/**
 * Two meshed pods on 10.244.<subnet>.0/24 with a control link each (veths named from `tag`), the client routing the
 * service range through its proxy (connect() needs a route to start). A failure removes what was made.
 */
export async function linkedPods(subnet: number, tag: string, links: PodLinks): Promise<{ client: Pod; server: Pod }> {
  const pods = await twoPods(subnet, { client: true, server: true });
  try {
    await hostLink(pods.client, `${tag}${process.pid % 100000}c`, links.client[0], links.client[1]);
    await hostLink(pods.server, `${tag}${process.pid % 100000}s`, links.server[0], links.server[1]);
    await sh('ip', '-n', pods.client.ns, 'route', 'add', '10.96.0.0/12', 'dev', 'eth0');
  } catch (err) {
    await removePods(pods.client, pods.server);
    throw err;
  }
  return pods;
}

/** The meshed proxy of `pod` as identity `name`; `link` is its control link (host side, pod side). */
export async function startMeshedPodProxy(c: MeshControl, pod: Pod, name: string, [hostIp, podIp]: readonly [string, string], extra: Record<string, string> = {}): Promise<ChildProcess> {
  const home = join(c.dir, pod.ns);
  await mkdir(join(home, 'end-entity'), { recursive: true });
  const token = `token-${name}`;
  await writeFile(join(home, 'token'), token);
  for (const p of [home, join(home, 'end-entity'), join(home, 'token')]) await chown(p, PROXY_UID, PROXY_UID);
  c.identity.accounts.set(token, name);
  const port = (a: string) => a.slice(a.lastIndexOf(':') + 1);
  return startProxy(pod, {
    TRELLIS_PROXY_PLAINTEXT: 'false',
    LINKERD2_PROXY_IDENTITY_DIR: join(home, 'end-entity'),
    LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(home, 'token'),
    LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: c.pki.trustAnchorsPem,
    LINKERD2_PROXY_IDENTITY_LOCAL_NAME: name,
    LINKERD2_PROXY_IDENTITY_SVC_ADDR: `${hostIp}:${port(c.identity.addr)}`,
    LINKERD2_PROXY_IDENTITY_SVC_NAME: IDENTITY_SVC_NAME,
    LINKERD2_PROXY_DESTINATION_SVC_ADDR: `${hostIp}:${port(c.dst.addr)}`,
    LINKERD2_PROXY_DESTINATION_SVC_NAME: DESTINATION_SVC_NAME,
    LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/8',
    // The control link's address is the pod's too: a client outside the mesh (the host) calls it there.
    LINKERD2_PROXY_INBOUND_IPS: `${pod.ip},${podIp}`,
    ...extra,
  });
}

/** Polls the proxy's /ready (503 until its first certificate) until 200 or the deadline. */
export async function proxyReady(pod: Pod, deadline: number): Promise<void> {
  for (;;) {
    const r = await client<{ status?: number }>(pod, 'get', '127.0.0.1', '4191', '/ready');
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new Error(`proxy in ${pod.ns} not ready: ${JSON.stringify(r)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Stops the processes and the control-plane stand-ins, then removes the namespaces (their veths) and `dir`. */
export async function tearDownMesh(children: readonly (ChildProcess | undefined)[], control: readonly ({ close(): Promise<void> } | undefined)[], pods: Pod[], dir: string | undefined): Promise<void> {
  await Promise.all(children.map((c) => stop(c)));
  for (const c of control) await c?.close();
  await removePods(...pods.splice(0));
  if (dir) await rm(dir, { recursive: true, force: true });
}
