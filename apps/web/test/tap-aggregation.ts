// The tap API behind the real API server's aggregation layer, as apps/tap's tests register it: a serving
// certificate for this machine's address, the tap API from its sources, a Service and Endpoints in `vizNs` and the
// tap.linkerd.io APIService (cluster-wide, so held under a machine-wide lock while a test file uses it), and a
// meshed pod for the tap API to resolve, running "at" an address the test chooses.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTapApi } from './processes.ts';

const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const APISERVICE = 'v1alpha1.tap.linkerd.io';
const run = promisify(execFile);

export function kubectlWith(kubeconfig: string): (args: readonly string[], stdin?: string) => Promise<string> {
  return (args, stdin = '') =>
    new Promise((resolve, reject) => {
      const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
      child.stdin?.end(stdin);
    });
}

/** The API server's aggregator calls the tap API at this machine's address (Endpoints refuse loopback). */
function hostIp(): string {
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('no non-loopback IPv4 address for the tap API Endpoints');
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Holds the machine-wide lock on the tap APIService until the returned release is called. It is cluster-wide, and
 * apps/tap's and apps/web's tests (run in parallel, on one API server) all register it: each holds it for its file.
 */
async function holdTapApiService(): Promise<() => void> {
  const holder = spawn('flock', ['--exclusive', join(tmpdir(), 'trellis-tap-apiservice.lock'), 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(holder.stdout, 'data');
  return () => void holder.stdin.end();
}

export interface TapAggregation {
  /** Tears down what was registered (the APIService by its owner label), and stops the tap API. */
  close(): Promise<void>;
}

/**
 * Registers the tap API (observing proxies on `tapPort`) for the API server, with pod `web-0` of deployment `web` in
 * `ns` running at `podIp`. The namespaces are created here and deleted by close.
 */
export async function registerTapApi(o: { kubeconfig: string; ns: string; vizNs: string; tapPort: number; podIp: string }): Promise<TapAggregation> {
  const kubectl = kubectlWith(o.kubeconfig);
  const dir = await mkdtemp(join(tmpdir(), 'trellis-web-tap-'));
  const ip = hostIp();
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=tap-api',
    '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-addext', `subjectAltName=DNS:trellis-tap.${o.vizNs}.svc,IP:${ip},IP:127.0.0.1`]);
  const caPem = await readFile(join(dir, 'tls.crt'), 'utf8');
  const tapApi = await startTapApi({ kubeconfig: o.kubeconfig, tlsCert: join(dir, 'tls.crt'), tlsKey: join(dir, 'tls.key'), tapPort: o.tapPort });
  let registered = false;
  let release: (() => void) | undefined;
  const close = async () => {
    if (registered) await kubectl(['delete', 'apiservice', '-l', `trellis.test/owner=${o.ns}`, '--ignore-not-found']).catch(() => undefined);
    release?.();
    await kubectl(['delete', 'namespace', o.ns, o.vizNs, '--wait=false']).catch(() => undefined);
    await tapApi.stop();
  };
  try {
    await kubectl(['create', 'namespace', o.ns]);
    await kubectl(['create', 'namespace', o.vizNs]);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: o.ns, labels: { app: 'web', 'linkerd.io/control-plane-ns': 'trellis', 'linkerd.io/proxy-deployment': 'web' } },
      // Its proxy holds the tap identity (the tap injector's LINKERD2_PROXY_TAP_SVC_NAME): the tap API taps only such pods.
      spec: {
        serviceAccountName: 'default',
        containers: [
          { name: 'app', image: 'trellis/demo-web:0.1.0' },
          { name: 'linkerd-proxy', image: 'trellis/proxy:0.1.0', env: [{ name: 'LINKERD2_PROXY_TAP_SVC_NAME', value: `tap.${o.vizNs}.serviceaccount.identity.trellis.cluster.local` }] },
        ],
      },
    };
    await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      pod,
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'trellis-tap', namespace: o.vizNs }, spec: { ports: [{ name: 'apiserver', port: 443, targetPort: tapApi.port }] } },
      { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'trellis-tap', namespace: o.vizNs }, subsets: [{ addresses: [{ ip }], ports: [{ name: 'apiserver', port: tapApi.port }] }] },
    ] }));
    // No node runs the pod: its status is what a kubelet would report (running, at the test's address).
    await kubectl(['-n', o.ns, 'patch', 'pod', 'web-0', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: o.podIp, podIPs: [{ ip: o.podIp }] } })]);
    const apiService = {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: APISERVICE, labels: { 'trellis.test/owner': o.ns } },
      spec: { group: 'tap.linkerd.io', version: 'v1alpha1', groupPriorityMinimum: 1000, versionPriority: 100, caBundle: Buffer.from(caPem).toString('base64'), service: { name: 'trellis-tap', namespace: o.vizNs, port: 443 } },
    };
    release = await holdTapApiService();
    await until('the tap APIService to be free', async () => kubectl(['create', '-f', '-'], JSON.stringify(apiService)).then(() => true), 5 * 60_000);
    registered = true;
    await until('the tap APIService to be Available', async () => (await kubectl(['get', 'apiservice', APISERVICE, '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}'])) === 'True', 60_000);
  } catch (err) {
    await close();
    throw err;
  }
  return { close };
}
