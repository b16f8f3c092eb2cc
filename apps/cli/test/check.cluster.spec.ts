// `trellis check` against a real API server with the charts installed by helm. The shared test cluster has no
// node, so the control-plane pods never start: that is the failure the check must explain. The webhooks are scoped
// to this test's namespace label so that they never touch other suites sharing the cluster.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { VERSION } from '@trellis/config';
import { createIssuer, createTrustAnchor, type GeneratedCa } from '@trellis/pki';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const REPO = join(import.meta.dirname, '..', '..', '..');
const HELM = join(REPO, 'tools/bin/helm');
const KUBECTL = join(REPO, 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const ns = `trellis-check-${suffix}`;
const DAY = 86_400_000;
let dir: string;
let anchor: GeneratedCa;

function run(cmd: string, args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

async function check(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['check', '--kubeconfig', kubeconfig, ...argv], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

type JsonCheck = { description: string; result: string; error?: string; hint?: string };
const jsonChecks = (out: string): JsonCheck[] => (JSON.parse(out) as { categories: { checks: JsonCheck[] }[] }).categories.flatMap((c) => c.checks);

async function setIssuer(issuer: GeneratedCa): Promise<void> {
  const patch = JSON.stringify({ data: { 'crt.pem': Buffer.from(issuer.certificatePem).toString('base64') } });
  const r = await run(KUBECTL, ['-n', ns, 'patch', 'secret', 'trellis-identity-issuer', '-p', patch]);
  expect(r.stderr).toBe('');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-check-'));
  const now = Date.now();
  anchor = await createTrustAnchor({ commonName: 'root.linkerd.cluster.local', notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY) });
  const issuer = await createIssuer({ commonName: 'identity.linkerd.cluster.local', parent: anchor, notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) });
  await writeFile(join(dir, 'ca.crt'), anchor.certificatePem);
  await writeFile(join(dir, 'issuer.crt'), issuer.certificatePem);
  await writeFile(join(dir, 'issuer.key'), issuer.privateKeyPem);
  const kubeVersion = /^KUBERNETES_VERSION=(\S+)$/m.exec(await readFile(join(REPO, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
  const crds = await run(HELM, ['template', 'trellis-crds', join(REPO, 'helm/trellis-crds'), '--kube-version', kubeVersion]);
  expect(crds.stderr).toBe('');
  expect(crds.code).toBe(0);
  const applied = await run(KUBECTL, ['apply', '--server-side', '--force-conflicts', '--field-manager=trellis-check-test', '-f', '-'], crds.stdout);
  expect(applied.stderr).toBe('');
  expect((await run(KUBECTL, ['create', 'namespace', ns])).code).toBe(0);
  expect((await run(KUBECTL, ['label', 'namespace', ns, `trellis-check=${suffix}`])).code).toBe(0);
  const installed = await run(HELM, [
    'install', `trellis-check-${suffix}`, join(REPO, 'helm/trellis-control-plane'), '-n', ns,
    '--set-file', `identityTrustAnchorsPEM=${join(dir, 'ca.crt')}`,
    '--set-file', `identity.issuer.tls.crtPEM=${join(dir, 'issuer.crt')}`,
    '--set-file', `identity.issuer.tls.keyPEM=${join(dir, 'issuer.key')}`,
    '--set-string', `proxyInjector.namespaceSelector.matchLabels.trellis-check=${suffix}`,
    '--set-string', `profileValidator.namespaceSelector.matchLabels.trellis-check=${suffix}`,
    '--set-string', `policyValidator.namespaceSelector.matchLabels.trellis-check=${suffix}`,
  ]);
  expect(installed.stderr).toBe('');
  expect(installed.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await run(HELM, ['uninstall', `trellis-check-${suffix}`, '-n', ns, '--wait=false']);
  await run(KUBECTL, ['delete', 'namespace', ns, '--wait=false']);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('trellis check on an install whose pods cannot start', () => {
  it('passes the API, CRD, config, identity and webhook checks, and fails the pods with their names and what to run', async () => {
    const { code, out } = await check('-L', ns, '--wait', '1s');
    expect(code).toBe(1);
    for (const line of [
      '√ can query the Kubernetes API',
      '√ is running the minimum Kubernetes API version',
      '√ control plane CustomResourceDefinitions exist',
      "√ 'trellis-config' config map exists",
      '√ ClusterRoles exist',
      '√ ClusterRoleBindings exist',
      '√ ServiceAccounts exist',
      '√ MutatingWebhookConfigurations exist',
      '√ ValidatingWebhookConfigurations exist',
      '√ certificate config is valid',
      '√ trust anchors are using supported crypto algorithm',
      '√ trust anchors are valid for at least 60 days',
      '√ issuer cert is valid for at least 60 days',
      '√ issuer cert is issued by the trust anchor',
      '√ proxy-injector webhook has valid cert',
      '√ sp-validator webhook has valid cert',
      '√ policy-validator webhook has valid cert',
      '√ policy-validator cert is valid for at least 60 days',
      '√ control plane and cli versions match',
      '× control plane replica sets are ready',
      '× control plane pods are ready',
      '× control plane proxies are healthy',
    ]) expect(out.split('\n')).toContain(line);
    expect(out).toContain('deployment/trellis-identity: 0/1 ready');
    expect(out).toMatch(/no pods for "trellis-destination"|pod\/trellis-destination-\S+ is not ready \(Pending/);
    expect(out).toContain(`see: kubectl -n ${ns} get pods -l linkerd.io/control-plane-ns=${ns}`);
    expect(out.trimEnd().endsWith('Status check results are ×')).toBe(true);
  }, 60_000);

  it('warns when the issuer expires within 60 days, and fails when another anchor signed it', async () => {
    const now = Date.now();
    await setIssuer(await createIssuer({ commonName: 'identity.linkerd.cluster.local', parent: anchor, notBefore: new Date(now - DAY), notAfter: new Date(now + 20 * DAY) }));
    let r = await check('-L', ns, '--wait', '0s', '-o', 'json');
    let byName = new Map(jsonChecks(r.out).map((c) => [c.description, c]));
    expect(byName.get('issuer cert is valid for at least 60 days')).toMatchObject({ result: 'warning', error: expect.stringMatching(/"identity.linkerd.cluster.local" expires at .* \(in (19|20) days\)/) });
    expect(byName.get('issuer cert is issued by the trust anchor')?.result).toBe('success');

    const stranger = await createTrustAnchor({ commonName: 'someone-else', notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY) });
    await setIssuer(await createIssuer({ commonName: 'identity.linkerd.cluster.local', parent: stranger, notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) }));
    r = await check('-L', ns, '--wait', '0s', '-o', 'json');
    byName = new Map(jsonChecks(r.out).map((c) => [c.description, c]));
    expect(r.code).toBe(1);
    expect(byName.get('issuer cert is issued by the trust anchor')).toMatchObject({ result: 'error', error: expect.stringContaining('does not chain to any of the 1 trust anchor') });
  }, 60_000);

  it('fails the policy-validator certificate when kube-apiserver trusts another CA for it', async () => {
    const name = 'trellis-policy-validator-webhook-config';
    const before = JSON.parse((await run(KUBECTL, ['get', 'validatingwebhookconfiguration', name, '-o', 'json'])).stdout) as { webhooks: { clientConfig: { caBundle: string } }[] };
    const original = before.webhooks[0]?.clientConfig.caBundle ?? '';
    const patch = (b64: string) => run(KUBECTL, ['patch', 'validatingwebhookconfiguration', name, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: b64 }])]);
    expect((await patch(Buffer.from(anchor.certificatePem).toString('base64'))).code).toBe(0);
    try {
      const r = await check('-L', ns, '--wait', '0s', '-o', 'json');
      const got = jsonChecks(r.out).find((c) => c.description === 'policy-validator webhook has valid cert');
      expect(got).toMatchObject({ result: 'error', error: expect.stringContaining('policy-validator serving certificate') });
    } finally {
      expect((await patch(original)).code).toBe(0);
    }
  }, 60_000);

  it('--pre fails on a namespace that exists and passes for a fresh one', async () => {
    const taken = await check('--pre', '-L', ns);
    expect(taken.code).toBe(1);
    expect(taken.out).toContain('× control plane namespace does not already exist');
    const fresh = await check('--pre', '-L', `trellis-fresh-${suffix}`);
    expect(fresh.out).toContain('√ can create non-namespaced resources');
    expect(fresh.out).toContain('√ can create Deployments');
    expect(fresh.out).toContain('√ can read Secrets');
    expect(fresh.code).toBe(0);
  }, 60_000);

  it('reports a control-plane namespace without Trellis as the one fatal failure after the CRDs', async () => {
    const { code, out } = await check('-L', `nothing-here-${suffix}`, '--wait', '0s');
    expect(code).toBe(1);
    expect(out).toContain(`× 'trellis-config' config map exists\n    ConfigMap nothing-here-${suffix}/trellis-config not found`);
    expect(out).not.toContain('trellis-config\n--------------');
  }, 60_000);
});

describe('trellis version', () => {
  async function version(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(['version', '--kubeconfig', kubeconfig, ...argv], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
    return { code, out, err };
  }

  it('prints the client and the installed control plane versions', async () => {
    expect(await version('-L', ns)).toEqual({ code: 0, out: `Client version: ${VERSION}\nServer version: ${VERSION}\n`, err: '' });
    expect((await version('-L', ns, '--short')).out).toBe(`${VERSION}\n${VERSION}\n`);
  });

  it('says the server version is unavailable, and why, when Trellis is not installed there', async () => {
    const r = await version('-L', `nothing-here-${suffix}`);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`Client version: ${VERSION}\nServer version: unavailable\n`);
    expect(r.err).toBe(`trellis version: cannot read ConfigMap nothing-here-${suffix}/trellis-config: not found (is Trellis installed?)\n`);
  });
});

describe('trellis check input and connectivity errors', () => {
  it('stops at the API check when the API server does not answer', async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const cfg = join(dir, 'dead.kubeconfig');
    await writeFile(
      cfg,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
    );
    let out = '';
    const code = await runCli(['check', '--kubeconfig', cfg, '--wait', '0s'], { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => undefined }, readStdin: async () => '' });
    expect(code).toBe(1);
    expect(out).toContain(`× can query the Kubernetes API\n    cannot reach https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n    see: is the cluster up? kubectl cluster-info`);
    expect(out).not.toContain('kubernetes-version');
  });

  it('rejects an unknown output format and a malformed wait, naming the flag', async () => {
    const a = await check('-o', 'xml');
    expect(a.code).toBe(1);
    expect(a.err).toBe('trellis check: invalid value "xml" for --output: expected one of table, short, json\n');
    const b = await check('--wait', 'soon');
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/invalid value "soon" for --wait/);
  });
});
