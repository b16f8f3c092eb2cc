// The local control plane: etcd + kube-apiserver (+ kube-controller-manager) on loopback, with RBAC,
// TokenRequest/TokenReview and admission webhooks on, data in one directory. State lives in <dir>/state.json.
import { request } from 'node:https';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeClusterCerts, type ClusterCerts } from './certs.ts';
import { freePort, isOurs, startProcess, stopProcess, waitFor, type ProcessRecord } from './processes.ts';
import { toolPath } from './tools.ts';
import { GATEWAY_IP, setUpHostNetwork } from './node-network.ts';
import { claimNode, prepareNodeTools, releaseNode, startNode, tearDownNode } from './node.ts';
import { cleanKubeletNode, drainKubeletNode } from './kubelet/node.ts';
import { nodeNames } from './node-name.ts';

export const SERVICE_CIDR = '10.96.0.0/16';
export const SERVICE_IP = '10.96.0.1';
export const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ClusterState {
  readonly dir: string;
  readonly server: string;
  readonly apiPort: number;
  readonly etcdUrl: string;
  readonly kubeconfig: string;
  readonly certs: ClusterCerts;
  readonly processes: ProcessRecord[];
  /** Address the API server listens on: loopback, or the node bridge's address when pods must reach it. */
  readonly apiHost?: string;
  /** True when `up --node` made the node (kubelet, containerd, bridge, firewall chain) that `down` must remove. */
  readonly node?: boolean;
  /** With node: how many nodes (trellis-node, then trellis-node-2, ... each in its own network namespace). */
  readonly nodes?: number;
}

export interface UpOptions {
  /** Also run kube-controller-manager (default service accounts, namespace deletion, EndpointSlices, GC). */
  readonly controllers?: boolean;
  /** A whole single-node Kubernetes: kube-scheduler, kube-proxy, CoreDNS and the kubelet with containerd running pods (needs root). */
  readonly node?: boolean;
  /** With node: how long to wait for another node cluster on this machine to go down (default: fail at once). */
  readonly nodeWaitMs?: number;
  /** With node: how many nodes (default 1). */
  readonly nodes?: number;
  readonly log?: (line: string) => void;
}

const statePath = (dir: string) => join(dir, 'state.json');

export async function readState(dir: string): Promise<ClusterState | undefined> {
  if (!existsSync(statePath(dir))) return undefined;
  return JSON.parse(await readFile(statePath(dir), 'utf8')) as ClusterState;
}

async function saveState(state: ClusterState): Promise<void> {
  await writeFile(statePath(state.dir), JSON.stringify(state, null, 2));
}

function kubeconfigYaml(server: string, c: ClusterCerts): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: trellis-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${c.caCert}`,
    'users:',
    '- name: trellis-admin',
    '  user:',
    `    client-certificate: ${c.adminCert}`,
    `    client-key: ${c.adminKey}`,
    'contexts:',
    '- name: trellis-local',
    '  context: {cluster: trellis-local, user: trellis-admin}',
    'current-context: trellis-local',
    '',
  ].join('\n');
}

type ApiTarget = Pick<ClusterState, 'apiPort' | 'certs' | 'apiHost'>;

/** GET a path on the API server with admin credentials; resolves to the HTTP status (0 on connection error). */
export function apiGet(state: ApiTarget, path: string): Promise<{ status: number; body: string }> {
  return apiRequest(state, 'GET', path);
}

/** POST an object to a collection with admin credentials; resolves to the HTTP status (0 on connection error). */
export function apiCreate(state: ApiTarget, path: string, object: unknown): Promise<{ status: number; body: string }> {
  return apiRequest(state, 'POST', path, JSON.stringify(object));
}

function apiRequest(state: ApiTarget, method: string, path: string, payload?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        method,
        host: state.apiHost ?? '127.0.0.1',
        port: state.apiPort,
        path,
        ...(payload === undefined ? {} : { headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }),
        ca: readFileSync(state.certs.caCert),
        cert: readFileSync(state.certs.adminCert),
        key: readFileSync(state.certs.adminKey),
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end(payload);
  });
}

async function apiServerArgs(state: Omit<ClusterState, 'processes'>): Promise<string[]> {
  const c = state.certs;
  return [
    await toolPath('kube-apiserver'),
    `--etcd-servers=${state.etcdUrl}`,
    `--bind-address=${state.apiHost ?? '127.0.0.1'}`,
    `--advertise-address=${state.apiHost ?? '127.0.0.1'}`,
    `--secure-port=${state.apiPort}`,
    `--tls-cert-file=${c.serverCert}`,
    `--tls-private-key-file=${c.serverKey}`,
    `--client-ca-file=${c.caCert}`,
    // Node: a kubelet (system:node:<name>) may read and write what its own pods need, as in any cluster.
    '--authorization-mode=Node,RBAC',
    `--service-account-issuer=${SA_ISSUER}`,
    `--service-account-key-file=${c.saPub}`,
    `--service-account-signing-key-file=${c.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true',
    // Webhooks on loopback are how the injector is tested; the defaults already enable Mutating/Validating webhooks.
    '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota',
    '--profiling=false',
    // kubectl logs, exec and port-forward go API server -> kubelet, which accepts only clients with a cluster-CA certificate.
    `--kubelet-client-certificate=${c.adminCert}`,
    `--kubelet-client-key=${c.adminKey}`,
    '--kubelet-preferred-address-types=InternalIP',
    // The aggregation layer (APIServices such as tap.linkerd.io): the API server calls extension API servers with
    // the front-proxy client certificate and the user in X-Remote-* headers, at their Service's endpoints (there
    // may be no kube-proxy to reach a ClusterIP).
    ...(c.frontProxyCaCert && c.frontProxyClientCert && c.frontProxyClientKey
      ? [
          `--requestheader-client-ca-file=${c.frontProxyCaCert}`,
          '--requestheader-allowed-names=front-proxy-client',
          '--requestheader-username-headers=X-Remote-User',
          '--requestheader-group-headers=X-Remote-Group',
          '--requestheader-extra-headers-prefix=X-Remote-Extra-',
          `--proxy-client-cert-file=${c.frontProxyClientCert}`,
          `--proxy-client-key-file=${c.frontProxyClientKey}`,
          '--enable-aggregator-routing=true',
        ]
      : []),
    '--v=1',
  ];
}

async function startApiServer(state: Omit<ClusterState, 'processes'>, timeoutMs = 60_000): Promise<ProcessRecord> {
  const rec = startProcess('kube-apiserver', await apiServerArgs(state), join(state.dir, 'kube-apiserver.log'));
  await waitFor('kube-apiserver /readyz', async () => (await apiGet(state, '/readyz')).status === 200, timeoutMs, rec);
  return rec;
}

async function startControllerManager(state: Omit<ClusterState, 'processes'>): Promise<ProcessRecord> {
  const c = state.certs;
  return startProcess(
    'kube-controller-manager',
    [
      await toolPath('kube-controller-manager'),
      `--kubeconfig=${state.kubeconfig}`,
      `--authentication-kubeconfig=${state.kubeconfig}`,
      `--authorization-kubeconfig=${state.kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      `--root-ca-file=${c.caCert}`,
      `--service-account-private-key-file=${c.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--use-service-account-credentials=false',
      // A kubelet registers its Node tainted not-ready; the node lifecycle controller lifts the taint once it is Ready.
      // Without a node it stays off: Nodes that tests create have no kubelet, and it would taint them and evict their pods.
      `--controllers=*,-nodeipam,${state.node ? '' : '-nodelifecycle,'}-cloud-node-lifecycle,-service-lb-controller,-route,-persistentvolume-binder,-attachdetach,-ttl`,
      '--v=1',
    ],
    join(state.dir, 'kube-controller-manager.log'),
  );
}

/** Brings a cluster up in `dir` (created if needed). Resolves once the API server is ready. */
export async function up(dir: string, opts: UpOptions = {}): Promise<ClusterState> {
  const log = opts.log ?? ((_line: string) => undefined);
  const existing = await readState(dir);
  if (existing && existing.processes.some(isOurs)) throw new Error(`a cluster is already running in ${dir} (run down first)`);
  await mkdir(dir, { recursive: true });
  const controllers = opts.controllers || opts.node;
  const [etcdBin, , ] = await Promise.all([toolPath('etcd'), toolPath('kube-apiserver'), controllers ? toolPath('kube-controller-manager') : undefined, opts.node ? prepareNodeTools() : undefined]);
  // Pods reach the API server through the kubernetes Service, so with a node it listens on the bridge's address
  // (still only inside this machine), which exists before anything else starts.
  const apiHost = opts.node ? GATEWAY_IP : '127.0.0.1';
  if (opts.node) {
    await claimNode(dir, opts.nodeWaitMs ?? 0, log);
    log('making the node network (bridge, firewall chain)');
    try {
      await setUpHostNetwork();
    } catch (err) {
      await tearDownNode();
      await releaseNode(dir);
      throw err;
    }
  }
  log('making certificates');
  const certs = await makeClusterCerts(dir, SERVICE_IP, opts.node ? [GATEWAY_IP] : []);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const server = `https://${apiHost}:${apiPort}`;
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(server, certs));
  const base = { dir, server, apiPort, etcdUrl, kubeconfig, certs, apiHost, ...(opts.node ? { node: true, nodes: Math.max(1, opts.nodes ?? 1) } : {}) };
  const processes: ProcessRecord[] = [];
  const state: ClusterState = { ...base, processes };
  try {
    await saveState(state);
    log(`starting etcd on ${etcdUrl}`);
    const etcd = startProcess(
      'etcd',
      [
        etcdBin,
        '--name=trellis',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=trellis=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
      { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'x64' ? '' : process.arch },
    );
    processes.push(etcd);
    await saveState(state);
    await waitFor('etcd /health', async () => (await fetch(`${etcdUrl}/health`)).ok, 20_000, etcd);
    log(`starting kube-apiserver on ${server}`);
    processes.push(await startApiServer(base));
    await saveState(state);
    if (controllers) {
      log('starting kube-controller-manager');
      processes.push(await startControllerManager(base));
      await saveState(state);
    }
    if (opts.node) {
      await startNode(state, async (rec) => {
        processes.push(rec);
        await saveState(state);
      }, log);
    }
    return state;
  } catch (err) {
    await down(dir, { keepDir: true });
    throw err;
  }
}

/**
 * Stops the processes recorded in `dir` (only those) and removes the directory unless keepDir. `beforeRelease` runs
 * after the node is torn down but while this cluster still owns it: the node's network names are machine-wide, so a
 * check for leftovers made after the release could see the next cluster's.
 */
export async function down(dir: string, opts: { keepDir?: boolean; beforeRelease?: () => Promise<void> } = {}): Promise<number> {
  const state = await readState(dir);
  let stopped = 0;
  if (state) {
    const kubelets = state.processes.filter((p) => p.name.startsWith('kubelet-'));
    const nodes = [...new Set([...(state.node ? nodeNames(state.nodes ?? 1) : []), ...kubelets.map((rec) => rec.name.slice('kubelet-'.length))])];
    // Kubelets go first, then their pods (containerd still runs to remove them), then everything else.
    for (const rec of kubelets) {
      if (isOurs(rec)) stopped++;
      await stopProcess(rec);
    }
    for (const node of nodes) await drainKubeletNode(dir, node);
    for (const rec of [...state.processes].reverse().filter((p) => !kubelets.includes(p))) {
      if (isOurs(rec)) stopped++;
      await stopProcess(rec);
    }
    for (const node of nodes) await cleanKubeletNode(dir, node);
    if (state.node) {
      await tearDownNode();
      try {
        await opts.beforeRelease?.();
      } finally {
        await releaseNode(dir);
      }
    }
  }
  if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
  return stopped;
}

/**
 * A node dying, as a test fault: its kubelet and kube-proxy stop, every pod on it is killed and removed (containers,
 * network namespaces), and its containerd stops. The API server is not told; the node goes NotReady when its
 * heartbeats stop, as a machine that lost power would. `down` removes the rest.
 */
export async function stopNode(dir: string, node: string): Promise<void> {
  const state = await readState(dir);
  if (!state) throw new Error(`no cluster in ${dir}`);
  const mine = (name: string) => state.processes.find((p) => p.name === name);
  const kubelet = mine(`kubelet-${node}`);
  if (!kubelet) throw new Error(`no node ${node} in ${dir}`);
  await stopProcess(kubelet);
  const proxy = mine(`kube-proxy-${node}`);
  if (proxy) await stopProcess(proxy);
  await drainKubeletNode(dir, node);
  const containerd = mine(`containerd-${node}`);
  if (containerd) await stopProcess(containerd);
}

/** Stops only kube-apiserver (etcd keeps the data): a fault to test watch recovery. */
export async function stopApiServer(dir: string): Promise<void> {
  const state = await requireState(dir);
  const rec = state.processes.find((p) => p.name === 'kube-apiserver');
  if (rec) await stopProcess(rec);
}

/** Starts kube-apiserver again on the same port with the same certificates and data. */
export async function startApiServerAgain(dir: string): Promise<void> {
  const state = await requireState(dir);
  const { processes, ...base } = state;
  const rec = await startApiServer(base);
  await saveState({ ...state, processes: [...processes.filter((p) => p.name !== 'kube-apiserver'), rec] });
}

async function requireState(dir: string): Promise<ClusterState> {
  const state = await readState(dir);
  if (!state) throw new Error(`no cluster in ${dir} (run up first)`);
  return state;
}

export interface ComponentStatus {
  readonly name: string;
  readonly pid: number;
  readonly running: boolean;
}

export async function status(dir: string): Promise<{ state: ClusterState; components: ComponentStatus[]; ready: boolean } | undefined> {
  const state = await readState(dir);
  if (!state) return undefined;
  const components = state.processes.map((p) => ({ name: p.name, pid: p.pid, running: isOurs(p) }));
  const ready = (await apiGet(state, '/readyz')).status === 200;
  return { state, components, ready };
}
