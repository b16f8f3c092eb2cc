// A node run by the upstream kubelet with containerd: `trellis-cluster up --node` starts containerd with
// its configuration under <dir>/node-<name>, imports the pause and busybox images, writes the CNI network for the
// node's bridge and starts the kubelet. `down` drains it (drainKubeletNode) once the kubelet is stopped and cleans up
// (cleanKubeletNode) once containerd is.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeKubeletCerts } from '../certs.ts';
import { freePort, startProcess, stopProcess, waitFor, type ProcessRecord } from '../processes.ts';
import { toolPath } from '../tools.ts';
import { writeCniConfig } from './cni.ts';
import { containerdInstalled, containerdPaths, ctr, writeContainerdConfig, CONTAINERD_BIN, type ContainerdPaths } from './containerd.ts';
import { loadImages } from './images.ts';
import { busyboxImage, pauseImage } from './local-images.ts';
import { kubeletArgs, kubeletKubeconfig, writeKubeletFiles } from './kubelet.ts';
import { cgroupsLeft, createCgroups, mountsUnder, reapShims, removeCgroups, removeContainers, removeNetns, sandboxNetns, unmountUnder } from './teardown.ts';

export interface KubeletNodeSpec {
  readonly name: string;
  readonly ip: string;
  readonly bridge: string;
  readonly subnet: string;
  /** The bridge's address, the pods' gateway (the node's address on the first node). */
  readonly gateway: string;
  readonly clusterDns: string;
  /** The node's network namespace, when it is not the host's: containerd and the kubelet run inside it. */
  readonly netns?: string;
}

/** Everything of a kubelet node lives under <cluster dir>/node-<name>. */
export const nodeDir = (clusterDir: string, node: string) => join(clusterDir, `node-${node}`);
/** The names of the nodes that have a directory under the cluster directory (one node, or several). */
export async function nodesIn(clusterDir: string): Promise<string[]> {
  return (await readdir(clusterDir).catch(() => [] as string[])).filter((d) => d.startsWith('node-')).map((d) => d.slice('node-'.length)).sort();
}
/** The node's cgroups: one parent per node in every hierarchy. */
export const cgroupRoot = (node: string) => `/trellis-${node}`;
export const KUBELET_PORT = 10250;

export function runtimePaths(clusterDir: string, node: string): ContainerdPaths {
  return containerdPaths(nodeDir(clusterDir, node));
}

export async function startKubeletNode(
  cluster: { dir: string; server: string; certs: { caCert: string; caKey: string } },
  spec: KubeletNodeSpec,
  record: (rec: ProcessRecord) => Promise<void>,
  log: (line: string) => void,
): Promise<ProcessRecord> {
  const missing = containerdInstalled();
  if (missing) throw new Error(`the kubelet node needs containerd, runc and the CNI plugins: ${missing}`);
  const dir = nodeDir(cluster.dir, spec.name);
  const runtime = containerdPaths(dir);
  const pause = await pauseImage();

  log(`starting containerd for ${spec.name}`);
  await writeContainerdConfig(runtime, pause.names[0]!);
  await writeCniConfig(runtime.cniConfDir, { bridge: spec.bridge, subnet: spec.subnet, gateway: spec.gateway, ipamDir: join(dir, 'cni-ipam') });
  const containerd = startProcess(`containerd-${spec.name}`, [CONTAINERD_BIN, '--config', runtime.config], join(dir, 'containerd.log'), process.env, spec.netns);
  await record(containerd);
  await waitFor('containerd to answer', async () => existsSync(runtime.socket) && (await ctr(runtime, ['version'], { timeoutMs: 5000 }).then(() => true)), 30_000, containerd);
  await loadImages(runtime.socket, [pause, await busyboxImage()]);

  log(`starting the kubelet for ${spec.name}`);
  const certs = await makeKubeletCerts(dir, cluster.certs, spec.name, spec.ip);
  await createCgroups(cgroupRoot(spec.name));
  const opts = {
    node: spec.name,
    ip: spec.ip,
    port: KUBELET_PORT,
    healthzAddress: spec.netns ? spec.ip : '127.0.0.1',
    healthzPort: await freePort(),
    runtimeSocket: runtime.socket,
    caCert: cluster.certs.caCert,
    servingCert: certs.servingCert,
    servingKey: certs.servingKey,
    clusterDns: spec.clusterDns,
    cgroupRoot: cgroupRoot(spec.name),
    podLogsDir: join(dir, 'pod-logs'),
    resolvConf: join(dir, 'resolv.conf'),
  };
  const files = await writeKubeletFiles(join(dir, 'kubelet'), opts, kubeletKubeconfig(cluster.server, cluster.certs.caCert, certs.clientCert, certs.clientKey));
  const kubelet = startProcess(`kubelet-${spec.name}`, kubeletArgs(await toolPath('kubelet'), opts, files), join(dir, 'kubelet.log'), process.env, spec.netns);
  await record(kubelet);
  await waitFor(`kubelet /healthz of ${spec.name}`, async () => (await fetch(`http://${opts.healthzAddress}:${opts.healthzPort}/healthz`)).ok, 60_000, kubelet);
  return kubelet;
}

/** Removes containers, sandboxes and their network namespaces while containerd still runs. */
export async function drainKubeletNode(clusterDir: string, node: string): Promise<void> {
  const runtime = runtimePaths(clusterDir, node);
  if (!existsSync(runtime.socket)) return;
  const netns = await sandboxNetns(runtime);
  await removeContainers(runtime);
  await removeNetns(netns);
}

/** After every process is stopped: mounts under the node's directory, its cgroups. */
export async function cleanKubeletNode(clusterDir: string, node: string): Promise<void> {
  await reapShims(nodeDir(clusterDir, node));
  await unmountUnder(nodeDir(clusterDir, node));
  await removeCgroups(cgroupRoot(node));
}

export async function kubeletNodeLeftovers(clusterDir: string, node: string): Promise<string[]> {
  return [...(await mountsUnder(nodeDir(clusterDir, node))).map((m) => `mount ${m}`), ...(await cgroupsLeft(cgroupRoot(node))).map((c) => `cgroup ${c}`)];
}

/**
 * A kubelet node whose processes died (a crashed run) still has containers: their shims outlive containerd. A
 * containerd started again on the same directories finds them, so they are removed the normal way, then it stops.
 */
export async function reclaimKubeletNode(clusterDir: string, node: string): Promise<void> {
  const runtime = runtimePaths(clusterDir, node);
  if (!existsSync(runtime.config)) return;
  const containerd = startProcess(`containerd-${node}-reclaim`, [CONTAINERD_BIN, '--config', runtime.config], join(nodeDir(clusterDir, node), 'containerd.log'));
  try {
    await waitFor('containerd to answer', async () => existsSync(runtime.socket) && (await ctr(runtime, ['version'], { timeoutMs: 5000 }).then(() => true)), 30_000, containerd);
    await drainKubeletNode(clusterDir, node);
  } finally {
    await stopProcess(containerd);
  }
  await cleanKubeletNode(clusterDir, node);
}
