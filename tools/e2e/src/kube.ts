// kubectl, helm and pod helpers against a trellis-cluster node cluster, shared by the demo command and the
// end-to-end test.
import { execFile, spawn } from 'node:child_process';
import { nodeClusterSnapshot, pollUntil } from '@trellis/cluster/src/poll.ts';
import { toolPath, type Tool } from '@trellis/cluster/src/tools.ts';

export interface Cluster {
  /** The trellis-cluster state directory. */
  readonly dir: string;
  readonly kubeconfig: string;
}

/** A pod as kubectl prints it in JSON (only the fields these helpers read are typed). */
export interface Pod {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string>; readonly deletionTimestamp?: string };
  readonly spec: {
    readonly nodeName?: string;
    readonly containers: readonly PodContainer[];
    readonly initContainers?: readonly PodContainer[];
  };
  readonly status: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
    readonly containerStatuses?: readonly ContainerStatus[];
    readonly initContainerStatuses?: readonly ContainerStatus[];
  };
}

export interface PodContainer {
  readonly name: string;
  readonly args?: readonly string[];
  readonly restartPolicy?: string;
  readonly env?: readonly { readonly name: string; readonly value?: string }[];
}

export interface ContainerStatus {
  readonly name: string;
  readonly ready: boolean;
}

/** Runs a command; rejects with its stderr when it exits non-zero. */
export function exec(bin: string, args: readonly string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      // The tail of stdout too: `trellis check` says what failed there.
      err ? reject(new Error(`${[bin, ...args].join(' ')}: ${err.message}\n${stdout.slice(-4000)}${stderr}`)) : resolve(stdout),
    );
    // A child may exit before reading all its input: its exit code says what happened, the write's EPIPE adds nothing.
    child.stdin?.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command; resolves with its stdout and stderr (a build's progress lines), rejects as exec does. */
export function execBoth(bin: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: opts.cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${[bin, ...args].join(' ')}: ${err.message}\n${stdout.slice(-4000)}${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

async function tool(cluster: Cluster, name: Tool, args: readonly string[], input?: string): Promise<string> {
  return exec(await toolPath(name), args, { input, env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
}

export const kubectl = (cluster: Cluster, ...args: string[]) => tool(cluster, 'kubectl', args);
export const kubectlInput = (cluster: Cluster, input: string, ...args: string[]) => tool(cluster, 'kubectl', args, input);
export const helm = (cluster: Cluster, ...args: string[]) => tool(cluster, 'helm', args);

export async function pods(cluster: Cluster, ns: string, selector?: string): Promise<Pod[]> {
  return (JSON.parse(await kubectl(cluster, '-n', ns, 'get', 'pods', '-o', 'json', ...(selector ? ['-l', selector] : []))) as { items: Pod[] }).items;
}

export const isReady = (p: Pod): boolean => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Containers that run for the pod's life: the regular ones and native sidecars (init containers with restartPolicy Always). */
export function longRunning(p: Pod): ContainerStatus[] {
  const sidecars = new Set((p.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  return [...(p.status.initContainerStatuses ?? []).filter((s) => sidecars.has(s.name)), ...(p.status.containerStatuses ?? [])];
}

/** What the cluster looks like, for timeout messages: pods, the last events, the kubelet's log tail. */
export const explain = (cluster: Cluster): Promise<string> => nodeClusterSnapshot(cluster.dir, (...args) => kubectl(cluster, ...args));

/** Polls probe until it returns a truthy value; past the deadline it fails with the cluster's state. */
export const until = <T>(cluster: Cluster, what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> =>
  pollUntil(what, probe, timeoutMs, () => explain(cluster));

/** GET with a 5 s timeout; resolves with the status and body. */
export async function httpGet(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

export interface PortForward {
  readonly port: number;
  /** What kubectl printed so far. */
  output(): string;
  stop(): void;
}

/** `kubectl -n NS port-forward TARGET :PORT` on 127.0.0.1, resolved once kubectl says where it listens. */
export async function portForward(cluster: Cluster, ns: string, target: string, port: number, timeoutMs = 30_000): Promise<PortForward> {
  const child = spawn(await toolPath('kubectl'), ['-n', ns, 'port-forward', target, `:${port}`, '--address', '127.0.0.1'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfig } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const forward = { output: () => out.trim(), stop: () => void child.kill('SIGTERM') };
  try {
    const local = await pollUntil(`kubectl port-forward ${target} to listen`, async () => {
      if (child.exitCode !== null) throw new Error(`kubectl port-forward exited: ${out.trim()}`);
      return /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    }, timeoutMs);
    return { ...forward, port: Number(local) };
  } catch (err) {
    forward.stop();
    throw err;
  }
}

/**
 * A manifest's documents in reverse order, for `kubectl delete` of what was applied in order: a Server goes before
 * the AuthorizationPolicy that admits its clients, as Linkerd's docs advise. In file order the Server outlives its
 * policy for the moment between the two deletes and denies everyone (one vote-bot request in ten runs failed so).
 */
export const reversedDocs = (yaml: string): string => yaml.split(/^---\n/m).reverse().join('---\n');
