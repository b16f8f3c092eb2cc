// Waiting on a node cluster in tests: poll until a probe says yes, and when it never does, say what the cluster
// looked like (pods, recent events, the node's log) so that the failure explains itself.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tail } from './processes.ts';
import { nodeDir, nodesIn } from './kubelet/node.ts';

/** Pods, the last events and the kubelet's log tail, through the caller's kubectl. */
export async function nodeClusterSnapshot(dir: string, kubectl: (...args: string[]) => Promise<string>): Promise<string> {
  const pods = await kubectl('get', 'pods', '-A', '-o', 'wide').catch((e: Error) => e.message);
  const events = await kubectl('get', 'events', '-A', '--sort-by=.lastTimestamp').catch((e: Error) => e.message);
  const nodes = (await nodesIn(dir)).map((name) => {
    const kubeletLog = join(nodeDir(dir, name), 'kubelet.log');
    return existsSync(kubeletLog) ? `kubelet of ${name}:\n${tail(kubeletLog, 15)}` : `no kubelet log at ${kubeletLog}`;
  });
  return `\n${pods}\n${events.split('\n').slice(-15).join('\n')}\n${nodes.join('\n')}`;
}

/**
 * Polls `probe` every 500 ms until it returns a truthy value, which it resolves with; past the deadline it rejects
 * with what it waited for, the probe's last error and `explain()`.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, explain: () => Promise<string> = async () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${(last as Error).message}` : ''}${await explain()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
