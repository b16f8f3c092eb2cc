// `trellis install`, `upgrade`, `uninstall` and `prune` against a real API server, with the pinned helm. The charts
// stay the one source: the CLI's manifests are compared with `helm template` of the same values. The shared test
// cluster also runs other suites, so the real install here leaves out the two cluster-wide webhook configurations
// (their names are fixed, and another suite's install owns them); the server-side dry run covers all of it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createIssuer, createTrustAnchor, decodeCertificates, verifyChain } from '@trellis/pki';
import { runCli } from '../src/commands/root.ts';
import { goldenText } from '../src/testing/golden.ts';

const kubeconfig = inject('kubeconfig');
const REPO = join(import.meta.dirname, '..', '..', '..');
const HELM = join(REPO, 'tools/bin/helm');
const KUBECTL = join(REPO, 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const ns = `trellis-install-${suffix}`;
const DAY = 86_400_000;
const KUBE_VERSION = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(REPO, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
const golden = (name: string, actual: string) => goldenText(join(import.meta.dirname, '..', 'testdata', 'golden', name), actual);
let dir: string;

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; data?: Record<string, string> };

function run(cmd: string, args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--kubeconfig', kubeconfig], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

const docs = (yaml: string): Doc[] => parseAllDocuments(yaml).map((d) => d.toJS() as Doc).filter((d) => d !== null);
const find = (all: Doc[], kind: string, name: string) => all.find((d) => d.kind === kind && d.metadata.name === name);
const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');
const WEBHOOK_KINDS = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
/** The manifests less the cluster-wide webhook configurations (see the file comment). */
const applicable = (yaml: string) => docs(yaml).filter((d) => !WEBHOOK_KINDS.has(d.kind)).map((d) => `---\n${stringify(d)}`).join('');
/** Only this test's namespaces may be touched by a webhook that the dry run checks. */
// --set-string: a hex suffix of digits only (or like 1e5) would otherwise reach the chart as a number.
const SCOPED = ['--set-string', `proxyInjector.namespaceSelector.matchLabels.trellis-install=${suffix}`, '--set-string', `profileValidator.namespaceSelector.matchLabels.trellis-install=${suffix}`, '--set-string', `policyValidator.namespaceSelector.matchLabels.trellis-install=${suffix}`];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-install-'));
  const now = Date.now();
  const anchor = await createTrustAnchor({ commonName: 'root.linkerd.cluster.local', notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY) });
  const issuer = await createIssuer({ commonName: 'identity.linkerd.cluster.local', parent: anchor, notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) });
  const webhook = await createTrustAnchor({ commonName: 'webhook', notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) });
  for (const [name, text] of [['ca.crt', anchor.certificatePem], ['issuer.crt', issuer.certificatePem], ['issuer.key', issuer.privateKeyPem], ['webhook.crt', webhook.certificatePem], ['webhook.key', webhook.privateKeyPem]]) {
    await writeFile(join(dir, name as string), text as string);
  }
  await writeFile(join(dir, 'values.yaml'), 'controllerLogLevel: debug\nproxy:\n  logLevel: warn,trellis=debug\n');
  // install refuses to run before the CRDs, as Linkerd's does; other suites apply the same CRDs.
  const crds = await trellis('install', '--crds');
  expect(crds.err).toBe('');
  const applied = await run(KUBECTL, ['apply', '--server-side', '--force-conflicts', '--field-manager=trellis-install-test', '-f', '-'], crds.out);
  expect(applied.stderr).toBe('');
}, 60_000);

afterAll(async () => {
  await run(KUBECTL, ['delete', 'namespace', ns, '--wait=false']);
  await run(KUBECTL, ['delete', 'clusterrole,clusterrolebinding', '-l', `linkerd.io/control-plane-ns=${ns}`, '--wait=false']);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('trellis install renders what helm template renders', () => {
  it('install --crds is the CRD chart, byte for byte (golden)', async () => {
    const r = await trellis('install', '--crds');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const helm = await run(HELM, ['template', 'trellis-crds', join(REPO, 'helm/trellis-crds'), '--namespace', 'trellis', '--kube-version', KUBE_VERSION]);
    expect(r.out).toBe(helm.stdout);
    expect(r.out).toBe(golden('install-crds.yaml', r.out));
  }, 60_000);

  it('install with certificate files, --ha, -f, --set and --set-file is the Namespace plus helm template of the same values (golden)', async () => {
    const flags = ['-f', join(dir, 'values.yaml'), '--set', 'controllerReplicas=2,enablePodAntiAffinity=false', '--set-string', 'podLabels.team=007'];
    const files = ['--set-file', `proxyInjector.crtPEM=${join(dir, 'webhook.crt')}`, '--set-file', `proxyInjector.keyPEM=${join(dir, 'webhook.key')}`, '--set-file', `profileValidator.crtPEM=${join(dir, 'webhook.crt')}`, '--set-file', `profileValidator.keyPEM=${join(dir, 'webhook.key')}`, '--set-file', `policyValidator.crtPEM=${join(dir, 'webhook.crt')}`, '--set-file', `policyValidator.keyPEM=${join(dir, 'webhook.key')}`];
    const r = await trellis(
      'install', '--ignore-cluster', '-L', 'trellis', '--ha', ...flags, ...files,
      '--identity-trust-anchors-file', join(dir, 'ca.crt'), '--identity-issuer-certificate-file', join(dir, 'issuer.crt'), '--identity-issuer-key-file', join(dir, 'issuer.key'),
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const helm = await run(HELM, [
      'template', 'trellis-control-plane', join(REPO, 'helm/trellis-control-plane'), '--namespace', 'trellis', '--kube-version', KUBE_VERSION,
      '--set-file', `identityTrustAnchorsPEM=${join(dir, 'ca.crt')}`, '--set-file', `identity.issuer.tls.crtPEM=${join(dir, 'issuer.crt')}`, '--set-file', `identity.issuer.tls.keyPEM=${join(dir, 'issuer.key')}`,
      '--values', join(REPO, 'helm/trellis-control-plane/values-ha.yaml'), ...flags, ...files,
    ]);
    expect(helm.stderr).toBe('');
    const namespace = r.out.slice(0, r.out.indexOf('---', 4));
    expect(parse(namespace)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'trellis', annotations: { 'linkerd.io/inject': 'disabled' }, labels: { 'linkerd.io/is-control-plane': 'true', 'config.linkerd.io/admission-webhooks': 'disabled', 'linkerd.io/control-plane-ns': 'trellis' } },
    });
    expect(r.out.slice(namespace.length)).toBe(helm.stdout);
    expect(find(docs(r.out), 'Deployment', 'trellis-destination')).toMatchObject({ spec: { replicas: 2 } });
    // The golden file pins the rendering; the keys and certificates are this run's, so they are masked.
    const masked = r.out.replace(/-----BEGIN ([A-Z ]+)-----[^-]+-----END \1-----/g, '<$1>').replace(/(crt\.pem|key\.pem|tls\.crt|tls\.key|caBundle|ca\.crt): \S+/g, '$1: <masked>').replace(/(trust-root-sha256|checksum\/[a-z-]+): \S+/g, '$1: <masked>');
    expect(masked).toBe(golden('install-ha.yaml', masked));
  }, 60_000);

  it('generates a trust anchor and an issuer it signed when none are given', async () => {
    const r = await trellis('install', '--ignore-cluster');
    expect(r.code).toBe(0);
    const all = docs(r.out);
    const issuer = find(all, 'Secret', 'trellis-identity-issuer');
    const roots = find(all, 'ConfigMap', 'trellis-identity-trust-roots');
    const anchors = decodeCertificates(roots?.data?.['ca-bundle.crt'] ?? '', 'trust anchors');
    const chain = verifyChain(decodeCertificates(b64(issuer?.data?.['crt.pem']), 'issuer')[0] as Uint8Array, [], anchors);
    expect(chain).toBeDefined();
    expect(b64(issuer?.data?.['key.pem'])).toMatch(/^-----BEGIN (EC )?PRIVATE KEY-----/);
    // Another run, another anchor: nothing is reused behind the user's back.
    const again = find(docs((await trellis('install', '--ignore-cluster')).out), 'ConfigMap', 'trellis-identity-trust-roots');
    expect(again?.data?.['ca-bundle.crt']).not.toBe(roots?.data?.['ca-bundle.crt']);
  }, 60_000);

  it('names what is wrong with the identity flags and the values', async () => {
    expect((await trellis('install', '--ignore-cluster', '--identity-trust-anchors-file', join(dir, 'ca.crt'))).err).toBe(
      'trellis install: give all three of --identity-trust-anchors-file, --identity-issuer-certificate-file and --identity-issuer-key-file, or none (trellis then generates them)\n',
    );
    const missing = await trellis('install', '--ignore-cluster', '--identity-trust-anchors-file', join(dir, 'nope.crt'), '--identity-issuer-certificate-file', join(dir, 'issuer.crt'), '--identity-issuer-key-file', join(dir, 'issuer.key'));
    expect(missing).toMatchObject({ code: 1, err: `trellis install: cannot read --identity-trust-anchors-file ${join(dir, 'nope.crt')}: no such file\n` });
    const keyAsCert = await trellis('install', '--ignore-cluster', '--identity-trust-anchors-file', join(dir, 'issuer.key'), '--identity-issuer-certificate-file', join(dir, 'issuer.crt'), '--identity-issuer-key-file', join(dir, 'issuer.key'));
    expect(keyAsCert.err).toBe(`trellis install: --identity-trust-anchors-file ${join(dir, 'issuer.key')}: trust anchors: no PEM CERTIFICATE block found\n`);
    const bad = await trellis('install', '--ignore-cluster', '--set', 'controllerLogLevel=loud');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^trellis install: rendering trellis-control-plane: values don't meet the specifications/);
    expect(bad.err).toContain("at '/controllerLogLevel': value must be one of");
  }, 60_000);
});

describe('trellis install, upgrade, prune and uninstall on the API server', () => {
  it('renders an install whose server-side dry run the API server accepts', async () => {
    const first = await trellis('install', '-L', ns, ...SCOPED);
    expect(first.err).toBe('');
    const dry = await run(KUBECTL, ['apply', '--dry-run=server', '-f', '-'], first.out);
    // The dry run cannot create the namespace, so its namespaced objects are refused as "namespace not found";
    // everything else must be accepted.
    expect(dry.stderr.split('\n').filter((l) => l && !l.includes(`namespaces "${ns}" not found`))).toEqual([]);
    expect(dry.stdout).toContain(`namespace/${ns} created (server dry run)`);
    expect(dry.stdout).toContain('mutatingwebhookconfiguration.admissionregistration.k8s.io/trellis-proxy-injector-webhook-config');
  }, 60_000);

  it('installs, then upgrade keeps the issuer, the trust anchors and the webhook certificates, and prune finds the leftovers', async () => {
    const installed = await trellis('install', '-L', ns, ...SCOPED);
    expect({ code: installed.code, err: installed.err }).toEqual({ code: 0, err: '' });
    const applied = await run(KUBECTL, ['apply', '-f', '-'], applicable(installed.out));
    expect(applied.stderr).toBe('');
    const dry = await run(KUBECTL, ['apply', '--dry-run=server', '-f', '-'], installed.out);
    expect(dry.stderr).toBe('');

    const again = await trellis('install', '-L', ns);
    expect(again).toMatchObject({ code: 1, err: `trellis install: Trellis is already installed in namespace ${ns}: use trellis upgrade (or pass --ignore-cluster)\n` });

    const upgraded = await trellis('upgrade', '-L', ns, '--set', 'controllerLogLevel=debug');
    expect({ code: upgraded.code, err: upgraded.err }).toEqual({ code: 0, err: '' });
    const before = docs(installed.out);
    const after = docs(upgraded.out);
    for (const [kind, name] of [['Secret', 'trellis-identity-issuer'], ['ConfigMap', 'trellis-identity-trust-roots'], ['Secret', 'trellis-proxy-injector-k8s-tls'], ['Secret', 'trellis-sp-validator-k8s-tls'], ['Secret', 'trellis-policy-validator-k8s-tls']] as const) {
      expect({ kind, name, data: find(after, kind, name)?.data }).toEqual({ kind, name, data: find(before, kind, name)?.data });
    }
    expect(JSON.stringify(find(after, 'Deployment', 'trellis-identity'))).toContain('debug');
    expect((await run(KUBECTL, ['apply', '-f', '-'], applicable(upgraded.out))).stderr).toBe('');

    expect(await trellis('prune', '-L', ns)).toEqual({ code: 0, out: '', err: '' });
    const stale = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'trellis-old-thing', namespace: ns, labels: { 'linkerd.io/control-plane-ns': ns } } };
    expect((await run(KUBECTL, ['apply', '-f', '-'], JSON.stringify(stale))).stderr).toBe('');
    const pruned = await trellis('prune', '-L', ns);
    expect(pruned.out).toBe(`---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: trellis-old-thing\n  namespace: ${ns}\n`);
    expect((await run(KUBECTL, ['delete', '-f', '-'], pruned.out)).stdout).toMatch(/^configmap "trellis-old-thing" deleted/);

    const uninstall = await trellis('uninstall', '-L', ns);
    const refs = docs(uninstall.out).map((d) => `${d.kind}/${d.metadata.name}`);
    expect(refs).toEqual(expect.arrayContaining(['Deployment/trellis-destination', 'Secret/trellis-identity-issuer', `ClusterRole/trellis-${ns}-identity`, 'CustomResourceDefinition/serviceprofiles.linkerd.io', `Namespace/${ns}`]));
    expect(refs.at(-1)).toBe(`Namespace/${ns}`);
    // Deleting the CRDs would break the other suites on this shared API server; the rest goes.
    const del = await run(KUBECTL, ['delete', '--wait=false', '-f', '-'], uninstall.out.split('---\n').filter((d) => d && !d.includes('CustomResourceDefinition')).map((d) => `---\n${d}`).join(''));
    expect(del.stderr).toBe('');
    expect(del.stdout).toContain(`namespace "${ns}" deleted`);
  }, 120_000);

  it('upgrade says plainly when there is nothing installed to upgrade', async () => {
    expect(await trellis('upgrade', '-L', `nothing-${suffix}`)).toEqual({ code: 1, out: '', err: `trellis upgrade: cannot read ConfigMap nothing-${suffix}/trellis-config: not found (is Trellis installed?)\n` });
  }, 30_000);
});
