// The node agent: registers this machine as a Node, keeps its status fresh, and runs a PodWorker for every pod the
// scheduler binds here.
import { cpus, totalmem, release, hostname } from 'node:os';
import type { Logger } from 'pino';
import { KubeApiError, type KObject, type Kube } from './kube.ts';
import { PodWorker, type NodeContext } from './pod-worker.ts';
import { AddressPool, GATEWAY_IP, NODE_POD_CIDR } from './network.ts';

import { NODE_NAME } from './names.ts';

export { NODE_NAME };
export const KUBELET_VERSION = 'v1.34.4';

export interface AgentOptions {
  readonly kube: Kube;
  readonly log: Logger;
  readonly podsDir: string;
  readonly repoRoot: string;
  readonly node: string;
  readonly backoff?: { baseMs: number; maxMs: number };
  /** Port of the log endpoint (kubectl logs), advertised in the Node's daemonEndpoints. */
  readonly kubeletPort?: number;
}

function allocatable() {
  return { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024 / 1024)}Mi`, 'ephemeral-storage': '20Gi', pods: '110' };
}

export function nodeObject(): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE_NAME,
      labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch },
    },
    spec: { podCIDR: NODE_POD_CIDR, podCIDRs: [NODE_POD_CIDR] },
  };
}

export function nodeStatus(now: string, kubeletPort = 0): KObject {
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
  return {
    capacity: allocatable(),
    allocatable: allocatable(),
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'trellis node agent is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: GATEWAY_IP },
      { type: 'Hostname', address: NODE_NAME },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
    nodeInfo: {
      machineID: '', systemUUID: '', bootID: '', kernelVersion: release(), osImage: `trellis node agent on ${hostname()}`,
      containerRuntimeVersion: 'trellis://0.1.0', kubeletVersion: KUBELET_VERSION, kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    },
  };
}

const podRangePrefix = GATEWAY_IP.split('.').slice(0, 3).join('.') + '.';

export class NodeAgent {
  readonly #opts: AgentOptions;
  readonly #workers = new Map<string, PodWorker>();
  readonly #abort = new AbortController();
  readonly #ctx: NodeContext;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    const a = allocatable();
    this.#ctx = {
      kube: opts.kube,
      log: opts.log,
      nodeName: NODE_NAME,
      hostIP: GATEWAY_IP,
      podsDir: opts.podsDir,
      repoRoot: opts.repoRoot,
      node: opts.node,
      addresses: new AddressPool(),
      allocatable: { cpu: a.cpu, memory: a.memory, 'ephemeral-storage': a['ephemeral-storage'] },
      isPodAddress: (ip) => ip.startsWith(podRangePrefix) && ip !== GATEWAY_IP,
      backoff: opts.backoff ?? { baseMs: 10_000, maxMs: 300_000 },
    };
  }

  async register(): Promise<void> {
    const kube = this.#opts.kube;
    try {
      await kube.call('POST', '/api/v1/nodes', nodeObject());
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
    await this.#postStatus();
    // Admission taints a new Node not-ready; the node lifecycle controller that would lift it is not run here.
    const node = await kube.get(`/api/v1/nodes/${NODE_NAME}`);
    const taints = ((node['spec']?.['taints'] ?? []) as KObject[]).filter((t) => t['key'] !== 'node.kubernetes.io/not-ready');
    await kube.mergePatch(`/api/v1/nodes/${NODE_NAME}`, { spec: { taints: taints.length > 0 ? taints : null } });
    this.#heartbeat = setInterval(() => void this.#postStatus().catch((err: Error) => this.#opts.log.warn({ err: err.message }, 'node heartbeat failed')), 10_000);
  }

  async #postStatus(): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.#opts.kube.call('PATCH', `/api/v1/nodes/${NODE_NAME}/status`, { status: nodeStatus(now, this.#opts.kubeletPort) }, 'application/strategic-merge-patch+json');
  }

  /** Watches the pods bound to this node until stop(). */
  run(): Promise<void> {
    return this.#opts.kube.listWatch(
      '/api/v1/pods',
      `fieldSelector=${encodeURIComponent(`spec.nodeName=${NODE_NAME}`)}`,
      (items) => {
        const live = new Set(items.map((p) => String(p['metadata']['uid'])));
        for (const [uid, w] of this.#workers) if (!live.has(uid)) void w.forget();
        for (const p of items) this.#upsert(p);
      },
      (ev) => {
        if (ev.type === 'DELETED') void this.#workers.get(String(ev.object['metadata']['uid']))?.forget();
        else this.#upsert(ev.object);
      },
      this.#abort.signal,
    );
  }

  #upsert(pod: KObject): void {
    const uid = String(pod['metadata']['uid']);
    const existing = this.#workers.get(uid);
    if (existing) return existing.update(pod);
    const phase = pod['status']?.['phase'];
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const w = new PodWorker(pod, this.#ctx);
    this.#workers.set(uid, w);
    void w.finished().then(() => this.#workers.delete(uid));
    void w.run();
    w.update(pod);
  }

  /** Stops watching and stops every pod (grace capped at graceMs), removing their sandboxes. */
  async stop(graceMs: number): Promise<void> {
    this.#abort.abort();
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    await Promise.all([...this.#workers.values()].map((w) => w.shutdown(graceMs)));
  }
}
