// The node half of `trellis-cluster up --node`: kube-scheduler, then per node the kubelet with containerd
// (kubelet/node.ts) and kube-proxy (iptables mode), and CoreDNS behind the kube-dns Service, on top of the control
// plane. The first node is the host; further nodes (--nodes) each run in a network namespace of their own
// (node-network.ts). Everything listens on loopback, the bridges' or the nodes' addresses; nothing is reachable from
// outside the machine.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { apiCreate, apiGet, readState, type ClusterState } from './control-plane.ts';
import { delay, freePort, isOurs, startProcess, waitFor, type ProcessRecord } from './processes.ts';
import { toolPath } from './tools.ts';
import { withMachineLock } from './machine-lock.ts';
import { BRIDGE, DNS_SERVICE_IP, GATEWAY_IP, POD_CIDR, nodeNetwork, setUpNodeNetwork, tearDownHostNetwork, tearDownNodeNetwork, type NodeNetwork } from './node-network.ts';
import { nodeDir, reclaimKubeletNode, startKubeletNode } from './kubelet/node.ts';
import { NODE_NAME, nodeNames } from './node-name.ts';

const run = promisify(execFile);

/** Builds (first time) the binaries the node needs, so `up --node` fails early when one cannot be had. */
export async function prepareNodeTools(): Promise<void> {
  await Promise.all([toolPath('kube-scheduler'), toolPath('kube-proxy'), toolPath('coredns'), toolPath('kubelet'), toolPath('pause')]);
}

/**
 * How long the cluster DNS caches an answer, an empty one included (CoreDNS's own default for its kubernetes
 * plugin). A proxy that asked for a control-plane name while it had no ready pod hears of the new pod by that name
 * up to this long after it is Ready (Trellis' proxies dial destination's ClusterIP Service meanwhile).
 */
export const DNS_CACHE_SECONDS = 5;

export function corefile(kubeconfig: string, readyPort: number): string {
  // Only cluster.local (and reverse zones) are answered; every other name gets NXDOMAIN, so no query ever leaves
  // the machine.
  return `cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${GATEWAY_IP}
    errors
    ready 127.0.0.1:${readyPort}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig} trellis-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache ${DNS_CACHE_SECONDS}
}
.:53 {
    bind ${GATEWAY_IP}
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`;
}

/** The kube-dns Service (ClusterIP 10.96.0.10) and an EndpointSlice that points it at CoreDNS on the bridge. */
export function dnsObjects(): { service: Record<string, unknown>; slice: Record<string, unknown> } {
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ];
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
      spec: { clusterIP: DNS_SERVICE_IP, ports: ports.map((p) => ({ ...p, targetPort: 53 })) },
    },
    slice: {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kube-dns-node', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'trellis-cluster' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [GATEWAY_IP], conditions: { ready: true }, nodeName: NODE_NAME }],
      ports,
    },
  };
}

/** POSTs an object; one that already exists (409) is left as it is. */
async function createIgnoringConflict(state: ClusterState, path: string, body: unknown): Promise<void> {
  const r = await apiCreate(state, path, body);
  if (r.status !== 201 && r.status !== 409) throw new Error(`POST ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
}

/** Waits until the API server reports the node Ready. */
async function nodeReady(state: ClusterState, name: string, kubelet: ProcessRecord): Promise<void> {
  await waitFor(`node ${name} Ready`, async () => {
    const r = await apiGet(state, `/api/v1/nodes/${name}`);
    if (r.status !== 200) return false;
    const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  }, 60_000, kubelet);
}

/** kube-proxy for one node, in its network namespace: it writes that node's iptables rules for Services. */
async function startKubeProxy(state: ClusterState, n: NodeNetwork, record: (rec: ProcessRecord) => Promise<void>): Promise<void> {
  // On the host, health and metrics stay on loopback; in a node's namespace, /healthz must answer the host.
  const healthzHost = n.netns ? n.ip : '127.0.0.1';
  const healthz = await freePort();
  const proxy = startProcess(
    n.netns ? `kube-proxy-${n.name}` : 'kube-proxy',
    [await toolPath('kube-proxy'), `--kubeconfig=${state.kubeconfig}`, `--hostname-override=${n.name}`, '--proxy-mode=iptables',
      `--cluster-cidr=${POD_CIDR}`, `--bind-address=${n.ip}`, `--nodeport-addresses=${n.ip}/32`, '--iptables-localhost-nodeports=false',
      // Leave the machine's conntrack sysctls alone: they are global.
      '--conntrack-max-per-core=0', '--conntrack-tcp-timeout-established=0', '--conntrack-tcp-timeout-close-wait=0',
      `--healthz-bind-address=${healthzHost}:${healthz}`, `--metrics-bind-address=127.0.0.1:${await freePort()}`, '--v=1'],
    join(n.netns ? nodeDir(state.dir, n.name) : state.dir, 'kube-proxy.log'),
    process.env,
    n.netns,
  );
  await record(proxy);
  await waitFor(`kube-proxy /healthz of ${n.name}`, async () => (await fetch(`http://${healthzHost}:${healthz}/healthz`)).ok, 30_000, proxy);
}

/** The nodes of a cluster started with `count` nodes, with their networks. */
export const clusterNodes = (count: number): NodeNetwork[] => nodeNames(count).map((name, i) => nodeNetwork(i + 1, name));

export async function startNode(state: ClusterState, record: (rec: ProcessRecord) => Promise<void>, log: (line: string) => void): Promise<void> {
  const { dir, kubeconfig } = state;
  const nodes = clusterNodes(state.nodes ?? 1);

  log('starting kube-scheduler');
  await record(
    startProcess(
      'kube-scheduler',
      [await toolPath('kube-scheduler'), `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
        '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0', '--v=1'],
      join(dir, 'kube-scheduler.log'),
    ),
  );

  for (const n of nodes) {
    if (n.netns) {
      log(`making the network of ${n.name} (namespace ${n.netns}, ${n.ip}, pods ${n.podCidr})`);
      await setUpNodeNetwork(n);
    }
    const kubelet = await startKubeletNode(state, { name: n.name, ip: n.ip, gateway: n.gateway, bridge: BRIDGE, subnet: n.podCidr, clusterDns: DNS_SERVICE_IP, ...(n.netns ? { netns: n.netns } : {}) }, record, log);
    await nodeReady(state, n.name, kubelet);
    log(`starting kube-proxy (iptables mode) for ${n.name}`);
    await startKubeProxy(state, n, record);
  }

  log('starting CoreDNS for cluster.local');
  const dns = dnsObjects();
  await createIgnoringConflict(state, '/api/v1/namespaces/kube-system/services', dns.service);
  await createIgnoringConflict(state, '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', dns.slice);
  const ready = await freePort();
  const conf = join(dir, 'Corefile');
  await writeFile(conf, corefile(kubeconfig, ready));
  const coredns = startProcess('coredns', [await toolPath('coredns'), '-conf', conf], join(dir, 'coredns.log'));
  await record(coredns);
  await waitFor('CoreDNS /ready', async () => (await fetch(`http://127.0.0.1:${ready}/ready`)).ok, 30_000, coredns);

  // Pods can only be created once their namespace has its default service account.
  await waitFor('the default service account', async () => (await apiGet(state, '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, 30_000);
}

/** Which cluster directory owns this machine's node network (one node cluster per machine: one bridge, one kube-proxy). */
export const NODE_OWNER_FILE = '/run/trellis-node/owner';

/** The owner file holds "<dir> <pid of the process that claimed it>": alive while that process or the cluster runs. */
async function ownerAlive(owner: string): Promise<boolean> {
  const [dir = '', pid = ''] = owner.split(' ');
  if (pid && existsSync(`/proc/${pid}`)) return true;
  const state = await readState(dir).catch(() => undefined);
  return state?.processes.some(isOurs) ?? false;
}

/** flock(1) file that makes checking, clearing and taking the claim one step across processes. */
export const NODE_CLAIM_LOCK = '/run/trellis-node/claim.lock';

/**
 * Claims the node network for `dir`. Another live node cluster makes this wait up to waitMs, then fail naming it;
 * a network left behind by a cluster whose processes are gone (a crashed run) is removed first. Each attempt runs
 * under the machine-wide lock, so two runs that find the same dead owner cannot both clear the network (the second
 * would tear down what the first just built).
 */
export async function claimNode(dir: string, waitMs: number, log: (line: string) => void): Promise<void> {
  await mkdir('/run/trellis-node', { recursive: true });
  const deadline = Date.now() + waitMs;
  let said = false;
  for (;;) {
    const other = await withMachineLock(NODE_CLAIM_LOCK, async () => {
      const owner = (await readFile(NODE_OWNER_FILE, 'utf8').catch(() => '')).trim();
      if (owner && (await ownerAlive(owner))) return owner.split(' ')[0];
      if (owner || existsSync(NODE_OWNER_FILE)) {
        log(`removing the node network left behind by ${owner || 'an unknown cluster'}`);
        const left = owner ? await readState(owner.split(' ')[0] ?? '').catch(() => undefined) : undefined;
        for (const name of nodeNames(left?.nodes ?? 1)) {
          if (left) await reclaimKubeletNode(left.dir, name).catch((err: Error) => log(`could not remove the containers of ${name}: ${err.message}`));
        }
        await tearDownNode();
      }
      await writeFile(NODE_OWNER_FILE, `${dir} ${process.pid}`);
      return undefined;
    });
    if (other === undefined) return;
    if (Date.now() > deadline) throw new Error(`another node cluster runs in ${other} (one per machine): trellis-cluster down --dir ${other}`);
    if (!said) log(`waiting for the node cluster in ${other} to go down`);
    said = true;
    await delay(1000);
  }
}

/** Gives the node network up if `dir` owns it. */
export async function releaseNode(dir: string): Promise<void> {
  const owner = (await readFile(NODE_OWNER_FILE, 'utf8').catch(() => '')).trim();
  if (owner.split(' ')[0] === dir) await rm(NODE_OWNER_FILE, { force: true });
}

/**
 * Removes kube-proxy's chains, the kubelet's marker chains and the node network (bridge, firewall chain), and the
 * namespaces of further nodes, however many there were (their iptables, bridges and veths go with them).
 */
export async function tearDownNode(): Promise<void> {
  const namespaces = (await run('ip', ['netns', 'list']).catch(() => ({ stdout: '' }))).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
  for (const ns of namespaces) {
    const index = /^trellis-node-(\d+)$/.exec(ns)?.[1];
    if (index) await tearDownNodeNetwork(nodeNetwork(Number(index), ns));
  }
  const proxy = await toolPath('kube-proxy').catch(() => undefined);
  if (proxy) await run(proxy, ['--cleanup'], { timeout: 30_000 }).catch(() => undefined);
  // --cleanup leaves KUBE-FIREWALL, which kubelets share; this node's kubelet is stopped by now, so it goes too.
  for (const bin of ['iptables', 'ip6tables']) {
    for (const hook of ['INPUT', 'OUTPUT']) {
      while (await run(bin, ['-w', '-D', hook, '-j', 'KUBE-FIREWALL']).then(() => true, () => false));
    }
    await run(bin, ['-w', '-F', 'KUBE-FIREWALL']).catch(() => undefined);
    await run(bin, ['-w', '-X', 'KUBE-FIREWALL']).catch(() => undefined);
    // A kubelet's empty marker chains: the canary it watches for a flushed table, and the hint of its iptables mode.
    for (const [table, chain] of [['mangle', 'KUBE-KUBELET-CANARY'], ['filter', 'KUBE-KUBELET-CANARY'], ['nat', 'KUBE-KUBELET-CANARY'], ['mangle', 'KUBE-IPTABLES-HINT']] as const) {
      await run(bin, ['-w', '-t', table, '-F', chain]).catch(() => undefined);
      await run(bin, ['-w', '-t', table, '-X', chain]).catch(() => undefined);
    }
  }
  await tearDownHostNetwork();
}
