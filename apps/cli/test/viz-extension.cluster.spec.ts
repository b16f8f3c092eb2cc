// `trellis viz install|uninstall|check|edges|dashboard` and `viz stat`/`viz routes` over the metrics API, against the real API
// server: the install is helm template of helm/trellis-viz with the same values; the metrics API is the real one
// (apps/metrics-api from its source) with its Prometheus away, so its own error must reach the user. The shared
// cluster runs no pods, so a running extension (checks all √, stat and edges with traffic) is the end-to-end
// cases' business (tools/e2e/test/viz-cli.cases.ts).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const REPO = join(import.meta.dirname, '..', '..', '..');
const HELM = join(REPO, 'tools/bin/helm');
const KUBECTL = join(REPO, 'tools/bin/kubectl');
const KUBE_VERSION = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(REPO, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
const suffix = randomBytes(3).toString('hex');
const role = `trellis-viz-test-${suffix}`;
let metricsApi: ChildProcess | undefined;
let metricsApiUrl = '';

function run(cmd: string, args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--kubeconfig', kubeconfig], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

/** The tap API's and tap injector's serving certificates are generated anew by every render (helm's genSelfSignedCert): their bytes aside. */
const sameRender = (text: string) => text.replace(/^(\s*(?:tls\.crt|tls\.key|caBundle|checksum\/(?:injector-)?tls): ).+$/gm, '$1<generated>');

const helmTemplate = async (...args: string[]) => {
  const r = await run(HELM, ['template', 'trellis-viz', join(REPO, 'helm/trellis-viz'), '--namespace', 'trellis-viz', '--kube-version', KUBE_VERSION, ...args]);
  expect(r.stderr).toBe('');
  return r.stdout;
};

beforeAll(async () => {
  let log = '';
  metricsApi = spawn(process.execPath, [join(REPO, 'apps/metrics-api/src/main.ts'), '--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--prometheus-url', 'http://127.0.0.1:9', '--kubeconfig', kubeconfig, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  metricsApi.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  metricsApi.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const addr = /"api":"(127\.0\.0\.1:\d+)"/.exec(log)?.[1];
    if (addr) {
      metricsApiUrl = `http://${addr}`;
      break;
    }
    if (metricsApi.exitCode !== null || Date.now() > deadline) throw new Error(`metrics-api did not start:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(async () => {
  if (metricsApi && metricsApi.exitCode === null) {
    metricsApi.kill('SIGTERM');
    await once(metricsApi, 'exit');
  }
  await run(KUBECTL, ['delete', 'clusterrole', role, '--ignore-not-found']);
  await run(KUBECTL, ['-n', 'kube-system', 'delete', 'rolebinding', role, '--ignore-not-found']);
});

describe('trellis viz install', () => {
  it('prints helm template of helm/trellis-viz for the same values, the HA values included', async () => {
    const plain = await trellis('viz', 'install', '--ignore-cluster');
    expect(plain.err).toBe('');
    expect(plain.code).toBe(0);
    expect(sameRender(plain.out)).toBe(sameRender(await helmTemplate()));
    expect(plain.out).toContain('kind: Namespace\nmetadata:\n  name: trellis-viz\n');
    const ha = await trellis('viz', 'install', '--ignore-cluster', '--ha', '--set', 'prometheus.retention=2h');
    expect(sameRender(ha.out)).toBe(sameRender(await helmTemplate('--values', join(REPO, 'helm/trellis-viz/values-ha.yaml'), '--set', 'prometheus.retention=2h')));
    const otherCp = await trellis('viz', 'install', '--ignore-cluster', '-L', 'mesh');
    expect(sameRender(otherCp.out)).toBe(sameRender(await helmTemplate('--set', 'linkerdNamespace=mesh')));
  }, 60_000);

  it("refuses before the control plane is installed, and passes on the chart's schema errors", async () => {
    const r = await trellis('viz', 'install', '-L', `no-cp-${suffix}`);
    expect(r).toEqual({ code: 1, out: '', err: `trellis viz install: cannot read ConfigMap no-cp-${suffix}/trellis-config: not found (is Trellis installed?); install Trellis first (trellis install), or pass --ignore-cluster\n` });
    const bad = await trellis('viz', 'install', '--ignore-cluster', '--set', 'metricsAPI.replicas=many');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("- at '/metricsAPI/replicas': got string, want integer\n");
  }, 60_000);
});

describe('trellis viz uninstall', () => {
  it('lists the objects labelled as the viz extension, for kubectl delete', async () => {
    expect((await run(KUBECTL, ['create', 'clusterrole', role, '--verb=get', '--resource=pods'])).code).toBe(0);
    expect((await run(KUBECTL, ['label', 'clusterrole', role, 'linkerd.io/extension=viz'])).code).toBe(0);
    // The tap API's binding to the API server's client-CA reader sits in kube-system.
    expect((await run(KUBECTL, ['-n', 'kube-system', 'create', 'rolebinding', role, '--role=extension-apiserver-authentication-reader', '--serviceaccount=trellis-viz:tap'])).code).toBe(0);
    expect((await run(KUBECTL, ['-n', 'kube-system', 'label', 'rolebinding', role, 'linkerd.io/extension=viz'])).code).toBe(0);
    const r = await trellis('viz', 'uninstall');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: ${role}\n`);
    expect(r.out).toContain(`---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${role}\n  namespace: kube-system\n`);
    const dry = await run(KUBECTL, ['delete', '--dry-run=server', '-f', '-'], r.out);
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toContain(`clusterrole.rbac.authorization.k8s.io "${role}" deleted`);
    expect(dry.stdout).toContain(`rolebinding.rbac.authorization.k8s.io "${role}" deleted`);
  }, 60_000);
});

describe('without the viz extension', () => {
  it('viz check fails at its namespace, viz edges and viz dashboard say what to install', async () => {
    const check = await trellis('viz', 'check', '--wait', '0s');
    expect(check.code).toBe(1);
    expect(check.out).toBe('trellis-viz\n-----------\n× trellis-viz Namespace exists\n    namespace trellis-viz does not exist\n    see: trellis viz install | kubectl apply -f -\n\nStatus check results are ×\n');
    expect(await trellis('viz', 'edges', 'deploy', '-n', 'default')).toEqual({
      code: 1,
      out: '',
      err: "trellis viz edges: trellis viz edges needs the viz extension's metrics API, and viz is not installed (no Service trellis-viz/metrics-api): trellis viz install | kubectl apply -f -\n",
    });
    expect(await trellis('viz', 'dashboard')).toEqual({ code: 1, out: '', err: 'trellis viz dashboard: the dashboard is not installed (no Service trellis-viz/web): trellis viz install | kubectl apply -f -\n' });
  }, 60_000);
});

describe('viz stat and edges over the metrics API', () => {
  it("pass on the metrics API's own answer when its Prometheus is away, naming the URL", async () => {
    const stat = await trellis('viz', 'stat', 'deploy', '-n', 'default', '--metrics-api', metricsApiUrl);
    expect(stat.code).toBe(1);
    expect(stat.err).toMatch(/^trellis viz stat: the metrics API answered 503: Prometheus at http:\/\/127\.0\.0\.1:9 is unreachable/);
    const edges = await trellis('viz', 'edges', 'deploy', '-n', 'default', '--metrics-api', metricsApiUrl);
    expect(edges.err).toMatch(/^trellis viz edges: the metrics API answered 503: Prometheus at http:\/\/127\.0\.0\.1:9 is unreachable/);
    const bad = await trellis('viz', 'stat', 'widgets', '-n', 'default', '--metrics-api', metricsApiUrl);
    expect(bad.err).toMatch(/^trellis viz stat: the metrics API answered 400: .*widgets/);
  }, 60_000);

  it("viz routes passes on the metrics API's answers and refuses -o wide without --to", async () => {
    const routes = await trellis('viz', 'routes', 'deploy/web', '-n', 'default', '--metrics-api', metricsApiUrl);
    expect(routes.code).toBe(1);
    expect(routes.err).toBe('trellis viz routes: the metrics API answered 404: deployment default/web not found\n');
    const wide = await trellis('viz', 'routes', 'deploy/web', '-n', 'default', '-o', 'wide', '--metrics-api', metricsApiUrl);
    expect(wide.err).toBe('trellis viz routes: -o wide shows effective and actual (retried) requests, which only the client sees: it needs --to\n');
    const kind = await trellis('viz', 'routes', 'deploy', '-n', 'default', '--metrics-api', metricsApiUrl);
    expect(kind.err).toBe('trellis viz routes: expected TYPE/NAME (e.g. deploy/web), got "deploy"\n');
  }, 60_000);
});
