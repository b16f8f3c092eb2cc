// Two pod-like network namespaces joined by a veth pair, each programmed by proxy-init (run as a child process
// with the injector's default arguments) and each with a Trellis proxy running as uid 2102. Needs root.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const NODE = process.execPath;
const PROXY_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const PROXY_INIT_MAIN = fileURLToPath(new URL('../../proxy-init/src/main.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./fixtures/app-client.ts', import.meta.url));
const SERVER = fileURLToPath(new URL('./fixtures/app-server.ts', import.meta.url));

export const PROXY_UID = 2102;
const INIT_ARGS = ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140', '--proxy-uid', String(PROXY_UID), '--inbound-ports-to-ignore', '4190,4191,4567,4568', '--outbound-ports-to-ignore', '4567,4568'];
export const OPAQUE_PORTS = '25,587,3306,4444,5432,6379,9300,11211';

export async function sh(cmd: string, ...args: string[]): Promise<string> {
  try {
    return (await execFileP(cmd, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

let counter = 0;
export const uniqueName = (what: string) => `trellis-px-${process.pid}-${what}-${counter++}`;

export interface Pod {
  readonly ns: string;
  readonly ip: string;
}

/** Two namespaces on one veth pair, 10.244.<subnet>.1 and .2; proxy-init's rules in both when `mesh`. */
export async function twoPods(subnet: number, mesh: { client: boolean; server: boolean }): Promise<{ client: Pod; server: Pod }> {
  const client = { ns: uniqueName('client'), ip: `10.244.${subnet}.1` };
  const server = { ns: uniqueName('server'), ip: `10.244.${subnet}.2` };
  for (const p of [client, server]) {
    await sh('ip', 'netns', 'add', p.ns);
    await sh('ip', '-n', p.ns, 'link', 'set', 'lo', 'up');
  }
  await sh('ip', '-n', client.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', server.ns);
  for (const p of [client, server]) {
    await sh('ip', '-n', p.ns, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0');
    await sh('ip', '-n', p.ns, 'link', 'set', 'eth0', 'up');
  }
  if (mesh.client) await sh(NODE, PROXY_INIT_MAIN, '--netns', `/run/netns/${client.ns}`, ...INIT_ARGS);
  if (mesh.server) await sh(NODE, PROXY_INIT_MAIN, '--netns', `/run/netns/${server.ns}`, ...INIT_ARGS);
  return { client, server };
}

export async function removePods(...pods: Pod[]): Promise<void> {
  await Promise.all(pods.map((p) => execFileP('ip', ['netns', 'del', p.ns]).catch(() => undefined)));
}

/** Spawns a long-running program in a namespace and waits for `marker` on its stdout or stderr. */
async function spawnIn(ns: string, argv: string[], env: Record<string, string>, marker: RegExp, uid?: number): Promise<ChildProcess> {
  const asUser = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const child = spawn('ip', ['netns', 'exec', ns, ...asUser, ...argv], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      if (marker.test(out)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited ${code} before it was ready: ${out}`)));
  });
  return child;
}

export function startApp(pod: Pod): Promise<ChildProcess> {
  return spawnIn(pod.ns, [NODE, SERVER], {}, /ready/);
}

export function proxyEnv(pod: Pod, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TRELLIS_PROXY_PLAINTEXT: 'true',
    LINKERD2_PROXY_LOG: 'warn,linkerd=info',
    LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '0.0.0.0:4191',
    LINKERD2_PROXY_INBOUND_IPS: pod.ip,
    LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION: OPAQUE_PORTS,
    LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT: '100ms',
    LINKERD2_PROXY_OUTBOUND_CONNECT_TIMEOUT: '1000ms',
    LINKERD2_PROXY_DESTINATION_CONTEXT: `{"ns":"test","pod":"${pod.ns}"}`,
    ...extra,
  };
}

/** The proxy as uid 2102 (so its own connections are not redirected), ready once it logs that it listens. */
export function startProxy(pod: Pod, extra: Record<string, string> = {}, argv: string[] = [NODE, PROXY_MAIN]): Promise<ChildProcess> {
  return spawnIn(pod.ns, argv, proxyEnv(pod, extra), /proxy listening/, PROXY_UID);
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/** Runs one client scenario inside a namespace and returns its JSON answer. */
export async function client<T = Record<string, unknown>>(pod: Pod, ...args: string[]): Promise<T> {
  const out = await execFileP('ip', ['netns', 'exec', pod.ns, NODE, CLIENT, ...args]).then(
    (r) => r.stdout,
    (e: { stdout?: string; stderr?: string }) => e.stdout || JSON.stringify({ failed: e.stderr }),
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
}

/** Fetches a proxy's /metrics from inside its namespace. */
export async function metricsOf(pod: Pod): Promise<string> {
  const r = await client<{ body: string }>(pod, 'get', '127.0.0.1', '4191', '/metrics');
  return r.body;
}

/**
 * A second veth from the host's namespace into a pod (`hostIp`/30 outside, `podIp`/30 inside): the way its
 * proxy reaches a control plane the test runs on the host, and the way a client outside the mesh reaches it.
 */
export async function hostLink(pod: Pod, name: string, hostIp: string, podIp: string): Promise<void> {
  await sh('ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'ctl0', 'netns', pod.ns);
  await sh('ip', 'addr', 'add', `${hostIp}/30`, 'dev', name);
  await sh('ip', 'link', 'set', name, 'up');
  await sh('ip', '-n', pod.ns, 'addr', 'add', `${podIp}/30`, 'dev', 'ctl0');
  await sh('ip', '-n', pod.ns, 'link', 'set', 'ctl0', 'up');
}

/** tcpdump on a pod's eth0 writing `file` until stopped; resolves once it is capturing. */
export async function capture(pod: Pod, file: string, filter: string): Promise<{ stop(): Promise<string> }> {
  const child = await spawnIn(pod.ns, ['tcpdump', '-i', 'eth0', '--immediate-mode', '-U', '-n', '-Z', 'root', '-w', file, filter], {}, /listening on/);
  let report = '';
  child.stderr?.on('data', (b: Buffer) => (report += b.toString()));
  return {
    /** Stops the capture; resolves with tcpdump's closing report ("N packets captured"). */
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGINT');
        await exited;
      }
      return report;
    },
  };
}

export interface ProxiedPair {
  readonly pods: { client: Pod; server: Pod };
  readonly app: ChildProcess | undefined;
  readonly serverProxy: ChildProcess | undefined;
  readonly clientProxy: ChildProcess | undefined;
}

/** Two meshed pods, the app behind the server's proxy and a proxy in each; what started is stopped if a step fails. */
export async function startProxiedPair(subnet: number, env: { server?: Record<string, string>; client?: Record<string, string> } = {}): Promise<ProxiedPair> {
  const pods = await twoPods(subnet, { client: true, server: true });
  const started: { app?: ChildProcess; serverProxy?: ChildProcess; clientProxy?: ChildProcess } = {};
  try {
    started.app = await startApp(pods.server);
    started.serverProxy = await startProxy(pods.server, env.server);
    started.clientProxy = await startProxy(pods.client, env.client);
    return { pods, app: started.app, serverProxy: started.serverProxy, clientProxy: started.clientProxy };
  } catch (err) {
    await stopProxiedPair({ pods, app: started.app, serverProxy: started.serverProxy, clientProxy: started.clientProxy });
    throw err;
  }
}

export async function stopProxiedPair(p: ProxiedPair): Promise<void> {
  await Promise.all([stop(p.app), stop(p.serverProxy), stop(p.clientProxy)]);
  await removePods(p.pods.client, p.pods.server);
}
