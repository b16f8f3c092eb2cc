// Control-plane and workload replacement as a rollout or a lost node does it, timed from a given moment (a new pod
// Ready): how long until the proxies that depend on it act on what it says.
import { podNetns } from '@trellis/cluster/src/node-pods.ts';
import { exec, isReady, kubectl, pods, until, type Cluster, type Pod } from './kube.ts';

/** Polls probe every 100 ms until it is truthy; resolves with the milliseconds since `from`. */
export async function millisUntil(cluster: Cluster, what: string, from: number, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return Date.now() - from;
    if (Date.now() > deadline) return until<never>(cluster, what, async () => false, 1);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Makes a pod vanish without a reset, as a node that loses power does: every packet in and out of its network
 * namespace dropped first, then the pod force-deleted. Its peers see silence, never a FIN or RST.
 */
export async function vanish(cluster: Cluster, pod: Pod): Promise<void> {
  const netns = await podNetns(cluster.dir, pod.metadata.uid);
  for (const chain of ['INPUT', 'OUTPUT']) await exec('ip', ['netns', 'exec', netns, 'iptables-legacy', '-w', '-I', chain, '1', '-j', 'DROP']);
  await kubectl(cluster, '-n', pod.metadata.namespace, 'delete', 'pod', pod.metadata.name, '--grace-period=0', '--force', '--wait=false');
}

/** Polls every 200 ms until a Ready pod matching selector that is not among `old` exists: it and when it was seen Ready. */
export async function newReadyPod(cluster: Cluster, ns: string, selector: string, old: readonly Pod[], timeoutMs: number): Promise<{ pod: Pod; readyAt: number }> {
  const known = new Set(old.map((p) => p.metadata.uid));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = (await pods(cluster, ns, selector)).find((p) => !known.has(p.metadata.uid) && !p.metadata.deletionTimestamp && isReady(p));
    if (fresh) return { pod: fresh, readyAt: Date.now() };
    if (Date.now() > deadline) return until<never>(cluster, `a new Ready pod for ${selector} in ${ns}`, async () => false, 1);
    await new Promise((r) => setTimeout(r, 200));
  }
}
