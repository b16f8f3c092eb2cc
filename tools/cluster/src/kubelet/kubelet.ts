// The upstream kubelet (built from the pinned Kubernetes module) for one node: its KubeletConfiguration and
// kubeconfig as files under the cluster directory, cgroupfs on this machine's cgroup v1, containerd over CRI.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeletOptions {
  readonly node: string;
  /** The node's address, where the API server reaches the kubelet: the first node's is its bridge's. */
  readonly ip: string;
  readonly port: number;
  /** Where /healthz listens: loopback on the host; the node's address in a node's own namespace, for the host to ask. */
  readonly healthzAddress: string;
  readonly healthzPort: number;
  readonly runtimeSocket: string;
  readonly caCert: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly clusterDns: string;
  /** Parent of the node's kubepods cgroups in every hierarchy, so that teardown finds exactly this node's. */
  readonly cgroupRoot: string;
  readonly podLogsDir: string;
  readonly resolvConf: string;
}

export function kubeletConfig(o: KubeletOptions): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: o.ip,
    port: o.port,
    readOnlyPort: 0,
    healthzBindAddress: o.healthzAddress,
    healthzPort: o.healthzPort,
    tlsCertFile: o.servingCert,
    tlsPrivateKeyFile: o.servingKey,
    // Only clients with a cluster-CA certificate (the API server) may use the kubelet's API.
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: o.caCert } },
    authorization: { mode: 'AlwaysAllow' },
    // This machine has cgroup v1 and no systemd; Kubernetes 1.34 still runs there when told so.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    cgroupRoot: o.cgroupRoot,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${o.runtimeSocket}`,
    imageServiceEndpoint: `unix://${o.runtimeSocket}`,
    clusterDNS: [o.clusterDns],
    clusterDomain: 'cluster.local',
    resolvConf: o.resolvConf,
    podLogsDir: o.podLogsDir,
    // Images are imported, never pulled: garbage collection must not remove them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // A shared machine's disk and memory are not this node's to police.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    // The machine's kernel settings are left as they are.
    protectKernelDefaults: false,
    syncFrequency: '10s',
    nodeStatusUpdateFrequency: '5s',
    serializeImagePulls: false,
    maxPods: 110,
    shutdownGracePeriod: '0s',
  };
}

export function kubeletKubeconfig(server: string, caCert: string, clientCert: string, clientKey: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'trellis-local', cluster: { server, 'certificate-authority': caCert } }],
    users: [{ name: 'kubelet', user: { 'client-certificate': clientCert, 'client-key': clientKey } }],
    contexts: [{ name: 'kubelet', context: { cluster: 'trellis-local', user: 'kubelet' } }],
    'current-context': 'kubelet',
  });
}

export interface KubeletFiles {
  readonly config: string;
  readonly kubeconfig: string;
  readonly rootDir: string;
}

export async function writeKubeletFiles(dir: string, o: KubeletOptions, kubeconfig: string): Promise<KubeletFiles> {
  const rootDir = join(dir, 'root');
  await mkdir(rootDir, { recursive: true });
  await mkdir(o.podLogsDir, { recursive: true });
  // The pods' resolv.conf comes from the cluster DNS alone: nothing of the host's resolvers is handed to pods.
  await writeFile(o.resolvConf, '');
  const files = { config: join(dir, 'config.yaml'), kubeconfig: join(dir, 'kubeconfig'), rootDir };
  await writeFile(files.config, stringify(kubeletConfig(o)));
  await writeFile(files.kubeconfig, kubeconfig);
  return files;
}

export function kubeletArgs(bin: string, o: KubeletOptions, f: KubeletFiles): string[] {
  return [bin, `--config=${f.config}`, `--kubeconfig=${f.kubeconfig}`, `--root-dir=${f.rootDir}`, `--hostname-override=${o.node}`, `--node-ip=${o.ip}`, '--v=1'];
}
