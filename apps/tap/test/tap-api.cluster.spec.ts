// The tap API against a real kube-apiserver, through its aggregation layer: an APIService for
// tap.linkerd.io/v1alpha1 pointing at the tap API, a meshed pod object, users with and without RBAC for the tap
// subresource (kubectl --as), and a stand-in for the pod's proxy (test/stand-in-proxy.ts).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCommandLine } from '@trellis/config';
import { loadKubeConfig } from '@trellis/k8s';
import { tap } from '@trellis/proto';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { tapApiConfig, TAP_API_SPEC } from '../src/config.ts';
import { startTapApi, type RunningTapApi } from '../src/tap-api.ts';
import { inboundRequest, startStandInProxy, type StandInProxy } from './stand-in-proxy.ts';

const kubeconfig = inject('kubeconfig');
const clusterDir = inject('clusterDir');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const ns = `trellis-tap-${suffix}`;
const vizNs = `trellis-viz-${suffix}`;
const run = promisify(execFile);

async function kubectl(args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(new Error(`kubectl ${args.join(' ')}: ${stderr}`), { stderr })) : resolve(stdout),
    );
    child.stdin?.end(stdin);
  });
}

/** The machine's address the API server can reach the tap API at (Endpoints refuse loopback addresses). */
function hostIp(): string {
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('no non-loopback IPv4 address for the tap API Endpoints');
}

/**
 * Holds the machine-wide lock on the tap APIService until the returned release is called. It is cluster-wide, and
 * apps/tap's and apps/web's tests (run in parallel, on one API server) both register it: each holds it for its file.
 */
async function holdTapApiService(): Promise<() => void> {
  const holder = spawn('flock', ['--exclusive', join(tmpdir(), 'trellis-tap-apiservice.lock'), 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(holder.stdout, 'data');
  return () => void holder.stdin.end();
}

let releaseApiService: (() => void) | undefined;
let api: RunningTapApi;
let proxy: StandInProxy;
let caPem: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tap-api-'));
  const ip = hostIp();
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=tap-api',
    '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-addext', `subjectAltName=DNS:trellis-tap.${vizNs}.svc,IP:${ip},IP:127.0.0.1`]);
  caPem = await readFile(join(dir, 'tls.crt'), 'utf8');
  proxy = await startStandInProxy([...inboundRequest(0, '/api/vote'), ...inboundRequest(1, '/api/vote'), ...inboundRequest(2, '/api/vote')]);
  const cli = parseCommandLine(TAP_API_SPEC, ['--addr', '0.0.0.0:0', '--admin-addr', '127.0.0.1:0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--tap-port', String(proxy.port), '--log-level', 'fatal']);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  api = await startTapApi(tapApiConfig(cli), { log: createLogger({ name: 'test', level: 'fatal', format: 'json' }), registry: createRegistry(), kubeConfig: loadKubeConfig({ kubeconfig }) });

  // Meshed pods of four Deployments: web's proxy has the tap identity; old's was started before viz was installed
  // (no identity); gone's has it, but nothing answers on its address's tap port; half's two pods have it, and only
  // half-0's proxy answers.
  const tapIdentity = [{ name: 'LINKERD2_PROXY_TAP_SVC_NAME', value: `tap.${vizNs}.serviceaccount.identity.trellis.cluster.local` }];
  const meshedPod = (name: string, deployment: string, env: { name: string; value: string }[]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: deployment, 'linkerd.io/control-plane-ns': 'trellis', 'linkerd.io/proxy-deployment': deployment } },
    spec: { serviceAccountName: 'default', containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }, { name: 'linkerd-proxy', image: 'trellis/proxy:0.1.0', env }] },
  });
  const pods = [meshedPod('web-0', 'web', tapIdentity), meshedPod('old-0', 'old', []), meshedPod('old-1', 'old', []), meshedPod('gone-0', 'gone', tapIdentity), meshedPod('half-0', 'half', tapIdentity), meshedPod('half-1', 'half', tapIdentity)];
  const apiService = {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1alpha1.tap.linkerd.io', labels: { 'trellis.test/owner': ns } },
    spec: { group: 'tap.linkerd.io', version: 'v1alpha1', groupPriorityMinimum: 1000, versionPriority: 100, caBundle: Buffer.from(caPem).toString('base64'), service: { name: 'trellis-tap', namespace: vizNs, port: 443 } },
  };
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['create', 'namespace', vizNs]);
  await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
    ...pods,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'trellis-tap', namespace: vizNs }, spec: { ports: [{ name: 'apiserver', port: 443, targetPort: api.api.port }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'trellis-tap', namespace: vizNs }, subsets: [{ addresses: [{ ip }], ports: [{ name: 'apiserver', port: api.api.port }] }] },
  ] }));
  // Registered once its Service has endpoints, so the aggregator's first availability check can succeed, and once
  // the dashboard's live-tap test has given it back.
  releaseApiService = await holdTapApiService();
  for (const free = Date.now() + 5 * 60_000; ; ) {
    const created = await kubectl(['create', '-f', '-'], JSON.stringify(apiService)).then(() => true, (err: Error) => {
      if (!/AlreadyExists/.test(err.message) || Date.now() > free) throw err;
      return false;
    });
    if (created) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  // No node runs the pod: its status is what a kubelet would report (running, on the stand-in proxy's address).
  // gone-0's (and old's) address is another loopback one, where the stand-in proxy does not listen.
  for (const [name, ip] of [['web-0', '127.0.0.1'], ['old-0', '127.0.0.3'], ['old-1', '127.0.0.3'], ['gone-0', '127.0.0.2'], ['half-0', '127.0.0.1'], ['half-1', '127.0.0.2']] as const) {
    await kubectl(['-n', ns, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } })]);
  }
  const deadline = Date.now() + 60_000;
  let available = '';
  while (available !== 'True') {
    if (Date.now() > deadline) throw new Error(`APIService v1alpha1.tap.linkerd.io not Available: ${await kubectl(['get', 'apiservice', 'v1alpha1.tap.linkerd.io', '-o', 'jsonpath={.status.conditions}'])}`);
    await new Promise((r) => setTimeout(r, 500));
    available = await kubectl(['get', 'apiservice', 'v1alpha1.tap.linkerd.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Available")].status}']);
  }
  // Up to 5 min waiting for the dashboard's test to give the APIService back, then a minute for availability.
}, 10 * 60_000);

afterAll(async () => {
  await kubectl(['delete', 'apiservice', '-l', `trellis.test/owner=${ns}`, '--ignore-not-found']).catch(() => undefined);
  releaseApiService?.();
  await kubectl(['delete', 'namespace', ns, vizNs, '--wait=false']).catch(() => undefined);
  await api?.close();
  proxy?.close();
});

/** `trellis viz ...` as alice, to its exit: code, stdout, stderr. */
function trellisExit(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = join(import.meta.dirname, '..', '..', 'cli', 'src', 'main.ts');
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args, '--kubeconfig', kubeconfig, '--as', 'alice', '-n', ns], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const TAP_PATH = `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/${ns}/deployments/web/tap`;

describe('tap API through the aggregation layer', () => {
  it('refuses a user without RBAC for the tap subresource with 403 and the reason', async () => {
    const err = await kubectl(['--as', 'alice', 'get', '--raw', `${TAP_PATH}?limit=1`]).then(
      () => undefined,
      (e: Error & { stderr?: string }) => e.stderr ?? e.message,
    );
    expect(err).toMatch(/forbidden: User "alice" cannot watch resource "deployments\/tap" in API group "tap.linkerd.io" in the namespace "trellis-tap-/);
  });

  it("refuses in its own SubjectAccessReview too, for a front-proxy caller whose user lacks RBAC", async () => {
    const [cert, key] = await Promise.all([readFile(join(clusterDir, 'front-proxy-client.crt')), readFile(join(clusterDir, 'front-proxy-client.key'))]);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: api.api.port, path: `${TAP_PATH}?limit=1`, ca: caPem, cert, key, headers: { 'X-Remote-User': 'mallory', 'X-Remote-Group': 'system:authenticated' } }, (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(403);
    const status = JSON.parse(res.body) as { reason: string; message: string };
    expect(status.reason).toBe('Forbidden');
    expect(status.message).toMatch(/^tap authorization failed \(not authorized to access deployments.tap.linkerd.io\): user "mallory" cannot watch deployments\/tap "web"/);
  });

  it('streams the events of the meshed pods to a user with RBAC, completed with the pod, up to the limit', async () => {
    await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'tap', namespace: ns }, rules: [{ apiGroups: ['tap.linkerd.io'], resources: ['*'], verbs: ['watch'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-tap', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tap' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }] },
    ] }));
    const out = await kubectl(['--as', 'alice', 'get', '--raw', `${TAP_PATH}?limit=2&path=/api/vote&method=POST`]);
    const events = out.trim().split('\n').map((l) => tap.TapEvent.fromJSON(JSON.parse(l)));
    expect(events.map((e) => e.event?.value.event?.$case)).toEqual(['requestInit', 'responseInit', 'responseEnd', 'requestInit', 'responseInit', 'responseEnd']);
    expect(events[0]?.destinationMeta?.labels).toMatchObject({ pod: 'web-0', namespace: ns, deployment: 'web' });
    expect(events[0]?.sourceMeta?.labels).toMatchObject({ tls: 'true' });
    // The proxy was asked for exactly what the query said.
    const asked = proxy.requests.at(-1);
    expect(asked?.match?.match?.$case === 'all' && asked.match.match.value.matches.map((m) => m.match?.$case === 'http' && m.match.value.match?.$case)).toEqual(['method', 'path']);
  });

  it('shows the stream to `trellis viz tap` and `trellis viz top` as Linkerd prints them', async () => {
    const cli = join(import.meta.dirname, '..', '..', 'cli', 'src', 'main.ts');
    const trellis = (args: readonly string[], stopAfterLines?: number) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(process.execPath, [cli, ...args, '--kubeconfig', kubeconfig, '--as', 'alice', '-n', ns], { timeout: 30_000 }, (err, stdout, stderr) =>
          err && !child.killed ? reject(new Error(`trellis ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
        );
        let out = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (stopAfterLines !== undefined && out.split('\n').length > stopAfterLines) child.kill('SIGINT');
        });
      });
    const lines = (await trellis(['viz', 'tap', 'deploy/web', '--path', '/api/vote'], 3)).trim().split('\n');
    console.log(`trellis viz tap deploy/web:\n${lines.join('\n')}`);
    expect(lines[0]).toBe('req id=0:0 proxy=in  src=10.244.0.10:42658 dst=127.0.0.1:8080 tls=true :method=POST :authority=web-svc:80 :path=/api/vote');
    expect(lines[1]).toBe('rsp id=0:0 proxy=in  src=10.244.0.10:42658 dst=127.0.0.1:8080 tls=true :status=200 latency=1200µs');
    expect(lines[2]).toBe('end id=0:0 proxy=in  src=10.244.0.10:42658 dst=127.0.0.1:8080 tls=true duration=100µs response-length=12B');
    const top = await trellis(['viz', 'top', 'deploy/web', '--interval', '1s', '--duration', '2500ms']);
    console.log(`trellis viz top deploy/web (plain):\n${top}`);
    expect(top).toContain('Source       Destination  Method  Path       Count  Best   Worst  Last   Success Rate');
    expect(top).toMatch(/10\.244\.0\.10\s+web-0\s+POST\s+\/api\/vote\s+3\s+1\.3ms\s+1\.3ms\s+1\.3ms\s+100\.00%/);
  });

  it('answers 404 naming the pods whose proxies lack the tap identity and what to do; the CLI prints it and fails', async () => {
    const err = await kubectl(['get', '--raw', `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/${ns}/deployments/old/tap`]).then(
      () => '',
      (e: Error & { stderr?: string }) => e.stderr ?? '',
    );
    const message = `no pods to tap for deployments/old in namespace ${ns}: 2 meshed pods found with tap not enabled (old-0, old-1): their proxies were started without LINKERD2_PROXY_TAP_SVC_NAME, so they serve no taps; restart them (kubectl rollout restart) so that the viz extension's tap injector gives the new pods the tap identity`;
    expect(err).toContain(message);
    for (const command of ['tap', 'top']) {
      const r = await trellisExit(['viz', command, 'deploy/old']);
      expect(r).toEqual({ code: 1, stdout: '', stderr: `trellis viz ${command}: ${message}\n` });
    }
  });

  it('fails the tap, and the CLI, when the proxy of every pod fails on the tap port, naming the pod and the error', async () => {
    const r = await trellisExit(['viz', 'tap', 'deploy/gone']);
    console.log(`trellis viz tap deploy/gone: exit ${r.code}\n${r.stderr}`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^trellis viz tap: cannot tap deployments/gone in namespace ${ns}: the proxy of its pod failed on the tap port ${proxy.port} \\(gone-0: .*ECONNREFUSED`));
  });

  it('streams the pods that answer and warns, naming the pod and the error, of one whose proxy fails: the CLI prints it on stderr and goes on', async () => {
    const cli = join(import.meta.dirname, '..', '..', 'cli', 'src', 'main.ts');
    const child = spawn(process.execPath, [cli, 'viz', 'tap', 'deploy/half', '--kubeconfig', kubeconfig, '--as', 'alice', '-n', ns], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const seen = new Promise<void>((resolve) => {
      const check = () => out.split('\n').length > 9 && err.includes('\n') && resolve();
      child.stdout.on('data', (d: Buffer) => ((out += d.toString()), check()));
      child.stderr.on('data', (d: Buffer) => ((err += d.toString()), check()));
    });
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await Promise.race([seen, exited]);
    // Still streaming after the warning: it ends only when the user interrupts it.
    expect(child.exitCode).toBe(null);
    child.kill('SIGINT');
    const [code] = await exited;
    clearTimeout(timer);
    console.log(`trellis viz tap deploy/half: exit ${code}\nstderr: ${err}stdout:\n${out}`);
    expect(err).toMatch(new RegExp(`^Warning: pod ${ns}/half-1 is not tapped: its proxy failed on the tap port ${proxy.port}: .*ECONNREFUSED 127\\.0\\.0\\.2:${proxy.port}.* \\(the tap goes on with the other pods\\)\n$`));
    const lines = out.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['req', 'rsp', 'end', 'req', 'rsp', 'end', 'req', 'rsp', 'end']);
    expect(code).toBe(0);
  });

  it('answers a target with no meshed pods with 404 and says why', async () => {
    const err = await kubectl(['get', '--raw', `/apis/tap.linkerd.io/v1alpha1/watch/namespaces/${ns}/deployments/nothing/tap`]).then(
      () => '',
      (e: Error & { stderr?: string }) => e.stderr ?? '',
    );
    expect(err).toMatch(/no meshed pods to tap for deployments\/nothing in namespace trellis-tap-\w+: it has no pods/);
  });
});

