// A pod's network namespace and processes on its node, from the host: the node's containerd makes the namespace
// (cni-<random>), records it in the pod sandbox's spec, and knows each container's process. With several nodes, each
// node's containerd is asked in turn.
import { basename } from 'node:path';
import { ctr } from './kubelet/containerd.ts';
import { nodesIn, runtimePaths } from './kubelet/node.ts';
import { sandboxNetns } from './kubelet/teardown.ts';

async function runtimes(dir: string) {
  return (await nodesIn(dir)).map((node) => ({ node, runtime: runtimePaths(dir, node) }));
}

/** The name under /run/netns of a pod's network namespace (for `ip netns exec NAME ...`). */
export async function podNetns(dir: string, uid: string): Promise<string> {
  for (const { runtime } of await runtimes(dir)) {
    const ids = (await ctr(runtime, ['containers', 'list', '--quiet', `labels."io.kubernetes.pod.uid"==${uid},labels."io.cri-containerd.kind"==sandbox`]).catch(() => '')).split('\n').filter(Boolean);
    for (const id of ids) {
      const info = JSON.parse(await ctr(runtime, ['containers', 'info', id])) as { Spec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
      const path = info.Spec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
      if (path) return basename(path);
    }
  }
  throw new Error(`no sandbox with a network namespace for pod ${uid} in any node's containerd`);
}

/** Names under /run/netns of every pod network namespace the nodes have now. */
export async function nodePodNetns(dir: string): Promise<string[]> {
  const all = await Promise.all((await runtimes(dir)).map(async ({ runtime }) => (await sandboxNetns(runtime)).map((p) => basename(p))));
  return all.flat();
}

/** The host pid of a container's main process (for reading /proc/<pid>/status from the host). */
export async function containerPid(dir: string, uid: string, container: string): Promise<number> {
  const filter = `labels."io.kubernetes.pod.uid"==${uid},labels."io.kubernetes.container.name"==${container}`;
  const running: number[] = [];
  for (const { runtime } of await runtimes(dir)) {
    const ids = (await ctr(runtime, ['containers', 'list', '--quiet', filter]).catch(() => '')).split('\n').filter(Boolean);
    if (ids.length === 0) continue;
    const tasks = new Map((await ctr(runtime, ['tasks', 'list'])).split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[2] === 'RUNNING').map((f) => [f[0]!, Number(f[1])]));
    running.push(...ids.map((id) => tasks.get(id)).filter((pid): pid is number => pid !== undefined));
  }
  if (running.length !== 1) throw new Error(`expected one running container ${container} in pod ${uid}, found ${running.length}`);
  return running[0]!;
}
