// A pod's network namespace and processes on the node, from the host: the kubelet's containerd makes the namespace
// (cni-<random>), records it in the pod sandbox's spec, and knows each container's process.
import { basename } from 'node:path';
import { ctr } from './kubelet/containerd.ts';
import { runtimePaths } from './kubelet/node.ts';
import { sandboxNetns } from './kubelet/teardown.ts';
import { NODE_NAME } from './node-name.ts';

/** The name under /run/netns of a pod's network namespace (for `ip netns exec NAME ...`). */
export async function podNetns(dir: string, uid: string): Promise<string> {
  const runtime = runtimePaths(dir, NODE_NAME);
  const ids = (await ctr(runtime, ['containers', 'list', '--quiet', `labels."io.kubernetes.pod.uid"==${uid},labels."io.cri-containerd.kind"==sandbox`])).split('\n').filter(Boolean);
  for (const id of ids) {
    const info = JSON.parse(await ctr(runtime, ['containers', 'info', id])) as { Spec?: { linux?: { namespaces?: { type: string; path?: string }[] } } };
    const path = info.Spec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
    if (path) return basename(path);
  }
  throw new Error(`no sandbox with a network namespace for pod ${uid} in the node's containerd`);
}

/** Names under /run/netns of every pod network namespace the node has now. */
export async function nodePodNetns(dir: string): Promise<string[]> {
  return (await sandboxNetns(runtimePaths(dir, NODE_NAME))).map((p) => basename(p));
}

/** The host pid of a container's main process (for reading /proc/<pid>/status from the host). */
export async function containerPid(dir: string, uid: string, container: string): Promise<number> {
  const runtime = runtimePaths(dir, NODE_NAME);
  const filter = `labels."io.kubernetes.pod.uid"==${uid},labels."io.kubernetes.container.name"==${container}`;
  const ids = (await ctr(runtime, ['containers', 'list', '--quiet', filter])).split('\n').filter(Boolean);
  const tasks = new Map((await ctr(runtime, ['tasks', 'list'])).split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[2] === 'RUNNING').map((f) => [f[0]!, Number(f[1])]));
  const running = ids.map((id) => tasks.get(id)).filter((pid): pid is number => pid !== undefined);
  if (running.length !== 1) throw new Error(`expected one running container ${container} in pod ${uid}, found ${running.length}`);
  return running[0]!;
}
