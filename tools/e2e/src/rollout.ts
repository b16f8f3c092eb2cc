// Timing how long the mesh takes to act on a change, from a given moment, polling every 100 ms.
import { until, type Cluster } from './kube.ts';

/** Polls probe every 100 ms until it is truthy; resolves with the milliseconds since `from`. */
export async function millisUntil(cluster: Cluster, what: string, from: number, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return Date.now() - from;
    if (Date.now() > deadline) return until<never>(cluster, what, async () => false, 1);
    await new Promise((r) => setTimeout(r, 100));
  }
}
