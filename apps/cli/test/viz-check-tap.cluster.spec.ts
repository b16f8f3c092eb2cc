// The tap checks of `trellis viz check` against the real API server: the viz chart's tap objects as helm renders
// them for this test's namespace (the tap API's Secret and APIService, the tap injector's Secret and webhook
// configuration, renamed and scoped to no namespace), the real tap API (apps/tap from its source, serving the
// chart's certificate) behind the APIService, and meshed pod objects with and without the tap identity.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadCluster } from '../src/cluster/kubeconfig.ts';
import { runChecks } from '../src/check/runner.ts';
import type { Check } from '../src/check/model.ts';
import type { VizCheckContext } from '../src/viz/checks.ts';
import { dataPlaneTapCheck, tapApiChecks } from '../src/viz/tap-checks.ts';

const kubeconfig = inject('kubeconfig');
const REPO = join(import.meta.dirname, '..', '..', '..');
const HELM = join(REPO, 'tools/bin/helm');
const KUBECTL = join(REPO, 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const vizNs = `trellis-vizchk-${suffix}`;
const appNs = `trellis-vizchk-app-${suffix}`;
const quietNs = `trellis-vizchk-quiet-${suffix}`;
const DAY = 86_400_000;
let dir: string;
let tapApi: ChildProcess | undefined;
let release: (() => void) | undefined;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered manifests

function kubectl(args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    child.stdin?.end(stdin);
  });
}

/** The machine's address the API server can reach the tap API at (Endpoints refuse loopback addresses). */
function hostIp(): string {
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('no non-loopback IPv4 address for the tap API Endpoints');
}

/** The tap APIService is cluster-wide: apps/tap's and apps/web's tests take the same machine-wide lock for it. */
async function holdTapApiService(): Promise<() => void> {
  const holder = spawn('flock', ['--exclusive', join(tmpdir(), 'trellis-tap-apiservice.lock'), 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(holder.stdout, 'data');
  return () => void holder.stdin.end();
}

const ctx = (over: Partial<VizCheckContext> = {}): VizCheckContext => ({ kc: loadCluster({ kubeconfig }), cliVersion: 'test', vizNamespace: vizNs, ...over });

/** Each check's description → "ok", or its status and message. */
async function outcomes(checks: readonly Check<VizCheckContext>[], c: VizCheckContext, waitMs = 0): Promise<Record<string, string>> {
  const reports = await runChecks([{ id: 'trellis-viz', checks }], c, { deadline: Date.now() + waitMs, retryEveryMs: 500 });
  return Object.fromEntries(reports.map((r) => [r.description, r.outcome.status === 'ok' ? 'ok' : `${r.outcome.status}: ${r.outcome.message ?? ''}${r.outcome.hint ? ` (see: ${r.outcome.hint})` : ''}`]));
}

const pod = (name: string, namespace: string, env: { name: string; value: string }[], annotations: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, annotations, labels: { 'linkerd.io/control-plane-ns': 'trellis', 'linkerd.io/proxy-deployment': name.replace(/-\d+$/, '') } },
  spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }, { name: 'linkerd-proxy', image: 'trellis/proxy:0.1.0', env }] },
});
const TAP_ENV = [{ name: 'LINKERD2_PROXY_TAP_SVC_NAME', value: 'tap.trellis-viz.serviceaccount.identity.trellis.cluster.local' }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viz-check-tap-'));
  const kubeVersion = /^KUBERNETES_VERSION=(\S+)$/m.exec(await readFile(join(REPO, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
  const rendered = await new Promise<string>((resolve, reject) =>
    execFile(HELM, ['template', 'trellis-viz', join(REPO, 'helm/trellis-viz'), '--namespace', vizNs, '--kube-version', kubeVersion, '--set', 'installNamespace=false'], { maxBuffer: 64 << 20 }, (err, out, stderr) => (err ? reject(new Error(stderr)) : resolve(out))),
  );
  const objects = parseAllDocuments(rendered).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
  const find = (kind: string, name: string) => {
    const o = objects.find((x) => x['kind'] === kind && x['metadata']?.name === name);
    if (!o) throw new Error(`the viz chart renders no ${kind} ${name}`);
    return o;
  };
  const apiService = find('APIService', 'v1alpha1.tap.linkerd.io');
  apiService['metadata'].labels = { ...apiService['metadata'].labels, 'trellis.test/owner': vizNs };
  const webhook = find('MutatingWebhookConfiguration', 'trellis-tap-injector-webhook-config');
  webhook['metadata'].name = `trellis-tap-injector-webhook-config-${suffix}`;
  // Scoped to no namespace at all: the cluster is shared with other suites.
  webhook['webhooks'][0].namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [`${vizNs}-none`] }] };
  const tapSecret = find('Secret', 'tap-k8s-tls');
  await writeFile(join(dir, 'tls.crt'), Buffer.from(tapSecret['data']['tls.crt'], 'base64'));
  await writeFile(join(dir, 'tls.key'), Buffer.from(tapSecret['data']['tls.key'], 'base64'));

  await kubectl(['create', 'namespace', vizNs]);
  await kubectl(['create', 'namespace', appNs]);
  await kubectl(['create', 'namespace', quietNs]);
  await kubectl(['annotate', 'namespace', quietNs, 'viz.linkerd.io/disable-tap=true']);
  await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [tapSecret, find('Secret', 'tap-injector-k8s-tls'), webhook] }));

  let log = '';
  tapApi = spawn(process.execPath, [join(REPO, 'apps/tap/src/main.ts'), '--addr', '0.0.0.0:0', '--admin-addr', '127.0.0.1:0', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--kubeconfig', kubeconfig, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  tapApi.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  tapApi.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  let port = 0;
  for (const deadline = Date.now() + 60_000; port === 0; ) {
    port = Number(/"api":"[\d.]+:(\d+)"/.exec(log)?.[1] ?? 0);
    if (port) break;
    if (tapApi.exitCode !== null || Date.now() > deadline) throw new Error(`the tap API did not start:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'tap', namespace: vizNs }, spec: { ports: [{ name: 'apiserver', port: 443, targetPort: port }] } },
    { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'tap', namespace: vizNs }, subsets: [{ addresses: [{ ip: hostIp() }], ports: [{ name: 'apiserver', port }] }] },
    pod('web-0', appNs, TAP_ENV),
    pod('voting-0', appNs, []),
    pod('emoji-0', appNs, [], { 'viz.linkerd.io/disable-tap': 'true' }),
    pod('quiet-0', quietNs, []),
  ] }));
  release = await holdTapApiService();
  for (const free = Date.now() + 5 * 60_000; ; ) {
    const created = await kubectl(['create', '-f', '-'], JSON.stringify(apiService)).then(() => true, (err: Error) => {
      if (!/AlreadyExists/.test(err.message) || Date.now() > free) throw err;
      return false;
    });
    if (created) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
}, 10 * 60_000);

afterAll(async () => {
  await kubectl(['delete', 'apiservice', '-l', `trellis.test/owner=${vizNs}`, '--ignore-not-found']).catch(() => undefined);
  release?.();
  await kubectl(['delete', 'mutatingwebhookconfiguration', `trellis-tap-injector-webhook-config-${suffix}`, '--ignore-not-found']).catch(() => undefined);
  await kubectl(['delete', 'namespace', vizNs, appNs, quietNs, '--wait=false']).catch(() => undefined);
  if (tapApi && tapApi.exitCode === null) {
    tapApi.kill('SIGTERM');
    await once(tapApi, 'exit');
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('trellis viz check: the tap API and the tap injector', () => {
  it("passes for the chart's certificates and a running tap API behind its APIService", async () => {
    expect(await outcomes(tapApiChecks, ctx(), 90_000)).toEqual({
      'tap API server has valid cert': 'ok',
      'tap API server cert is valid for at least 60 days': 'ok',
      'tap API service is running': 'ok',
      'tap-injector webhook has valid cert': 'ok',
      'tap-injector cert is valid for at least 60 days': 'ok',
    });
  }, 120_000);

  it('warns 60 days before the generated certificates expire, naming the date', async () => {
    // The chart's certificates are valid for 365 days: 320 days on, 45 are left.
    const got = await outcomes(tapApiChecks, ctx({ now: () => new Date(Date.now() + 320 * DAY) }));
    expect(got['tap API server cert is valid for at least 60 days']).toMatch(new RegExp(`^warn: "tap\\.${vizNs}\\.svc" expires at \\S+ \\(in 4[45] days\\) \\(see: trellis viz install`));
    expect(got['tap-injector cert is valid for at least 60 days']).toMatch(new RegExp(`^warn: "tap-injector\\.${vizNs}\\.svc" expires at`));
  });

  it('fails the tap API cert when its Secret holds a certificate the APIService does not trust', async () => {
    const other = join(dir, 'other');
    await new Promise<void>((resolve, reject) =>
      execFile('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', `/CN=tap.${vizNs}.svc`, '-keyout', `${other}.key`, '-out', `${other}.crt`], (err) => (err ? reject(err) : resolve())),
    );
    const original = (JSON.parse(await kubectl(['-n', vizNs, 'get', 'secret', 'tap-k8s-tls', '-o', 'json'])) as Obj)['data']['tls.crt'] as string;
    const crt = (await readFile(`${other}.crt`)).toString('base64');
    await kubectl(['-n', vizNs, 'patch', 'secret', 'tap-k8s-tls', '-p', JSON.stringify({ data: { 'tls.crt': crt } })]);
    try {
      const got = await outcomes(tapApiChecks.slice(0, 2), ctx());
      expect(got['tap API server has valid cert']).toMatch(new RegExp(`^fail: tap API serving certificate "tap\\.${vizNs}\\.svc": .*(chain|trust|issu)`, 'i'));
      expect(got['tap API server cert is valid for at least 60 days']).toMatch(/^warn: .* \(in (29|30) days\)/);
    } finally {
      await kubectl(['-n', vizNs, 'patch', 'secret', 'tap-k8s-tls', '-p', JSON.stringify({ data: { 'tls.crt': original } })]);
    }
  });

  it('fails "tap API service is running" with the reason the aggregator gives once the tap API has no endpoints', async () => {
    await kubectl(['-n', vizNs, 'delete', 'endpoints', 'tap']);
    let got: Record<string, string> = {};
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      got = await outcomes(tapApiChecks.slice(2, 3), ctx());
      if (got['tap API service is running'] !== 'ok') break;
    }
    expect(got['tap API service is running']).toMatch(new RegExp(`^fail: APIService v1alpha1\\.tap\\.linkerd\\.io is not available \\((EndpointsNotFound|MissingEndpoints): .*\\) \\(see: kubectl -n ${vizNs} get pods -l component=tap`));
  }, 120_000);
});

describe('trellis viz check --proxy: data-plane pods have tap enabled', () => {
  it('warns naming the meshed pods started without the tap identity, and what to restart; skips pods and namespaces with tap disabled', async () => {
    const got = await outcomes([dataPlaneTapCheck], ctx({ dataPlaneNamespace: appNs }));
    expect(got).toEqual({
      'data-plane pods have tap enabled': `warn: some data plane pods do not have tap configured (their proxies were started without LINKERD2_PROXY_TAP_SVC_NAME) and cannot be tapped:\n* ${appNs}/voting-0 (see: restart them so that the tap injector gives the new pods the tap identity: kubectl -n ${appNs} rollout restart deploy)`,
    });
    expect(await outcomes([dataPlaneTapCheck], ctx({ dataPlaneNamespace: quietNs }))).toEqual({ 'data-plane pods have tap enabled': 'ok' });
  });
});
