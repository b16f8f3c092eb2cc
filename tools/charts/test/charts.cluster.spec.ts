// Every rendered object must be accepted by a real kube-apiserver: the CRD chart is applied for real (and must
// become Established), then each control-plane render and an example of every policy resource is applied with
// --dry-run=server --validate=strict (server-side apply), which runs the API server's full validation and defaulting.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHARTS, KUBECTL, render, run, type RunResult } from '../src/helm.ts';
import { find, names, ofKind, parseManifests, podTemplate, type KubeObject } from '../src/manifests.ts';
import { parse } from 'yaml';
import { FIXTURES, GOLDEN_CASES, IDENTITY, WEBHOOK_TLS } from './golden.ts';

const kubeconfig = inject('kubeconfig');
const suffix = randomBytes(3).toString('hex');
// Namespaces of this run only: the cluster may be shared with other projects' tests.
const namespaces = { default: `trellis-charts-${suffix}`, ha: `trellis-charts-ha-${suffix}`, custom: `trellis-charts-custom-${suffix}` };
let dir: string;

function kubectl(args: readonly string[]): Promise<RunResult> {
  return run(KUBECTL, [...args], { ...process.env, KUBECONFIG: kubeconfig });
}

async function applyFile(text: string, name: string, dryRun: boolean): Promise<RunResult> {
  const file = join(dir, name);
  await writeFile(file, text);
  // Server-side apply: objects other tests (or an install) created are taken over without client-side apply's
  // last-applied warnings, and field validation is the API server's own.
  return kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=trellis-charts-test', '--validate=strict', ...(dryRun ? ['--dry-run=server'] : []), '-f', file]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-charts-cluster-'));
  for (const ns of Object.values(namespaces)) {
    const r = await kubectl(['create', 'namespace', ns]);
    expect(r.stderr).toBe('');
  }
  const crds = await render(CHARTS.crds, { set: { installGatewayAPI: 'true' } });
  const applied = await applyFile(crds, 'crds.yaml', false);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  const crdNames = ofKind(parseManifests(crds), 'CustomResourceDefinition').map((c) => `crd/${c.metadata.name}`);
  const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crdNames]);
  expect(established.stderr).toBe('');
}, 120_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', '--wait=false', ...Object.values(namespaces)]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kube-apiserver accepts the rendered charts', () => {
  const cases = [
    ['default values', 'control-plane-default', namespaces.default],
    ['values-ha.yaml', 'control-plane-ha', namespaces.ha],
    ['the custom values', 'control-plane-custom', namespaces.custom],
  ] as const;

  it.each(cases)('accepts every control-plane object with %s', async (_label, goldenName, ns) => {
    const c = GOLDEN_CASES.find((g) => g.name === goldenName);
    if (!c) throw new Error(`no golden case ${goldenName}`);
    const text = await render(c.chart, { ...c.opts, namespace: ns });
    const objects = parseManifests(text);
    const r = await applyFile(text, `${goldenName}.yaml`, true);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const accepted = r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
    expect(accepted).toHaveLength(objects.length);
    expect(names(objects).length).toBeGreaterThanOrEqual(25);
  });

  it('accepts an example of every policy resource against the installed CRDs', async () => {
    const examples = (await readFile(join(FIXTURES, 'policy-examples.yaml'), 'utf8')).replaceAll('NAMESPACE', namespaces.default);
    const r = await applyFile(examples, 'policy-examples.yaml', true);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'))).toHaveLength(parseManifests(examples).length);
  });

  it('rejects a field the API does not know, so acceptance above means every field was understood', async () => {
    const bad = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\n  namespace: ${namespaces.default}\ndta:\n  a: b\n`;
    const r = await applyFile(bad, 'bad-field.yaml', true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('.dta: field not declared in schema');
  });

  it('rejects a MeshTLSAuthentication that names no identities', async () => {
    const bad = `apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\nmetadata:\n  name: nobody\n  namespace: ${namespaces.default}\nspec: {}\n`;
    const r = await applyFile(bad, 'bad-meshtls.yaml', true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('MeshTLSAuthentication');
    expect(r.stderr).toMatch(/identities|identityRefs/);
  });

  it('rejects an HTTPRoute path match of an unknown type, naming the field', async () => {
    const bad = [
      'apiVersion: policy.linkerd.io/v1beta3',
      'kind: HTTPRoute',
      'metadata:',
      '  name: globbed',
      `  namespace: ${namespaces.default}`,
      'spec:',
      '  rules:',
      '    - matches:',
      '        - path: {type: Glob, value: "/api/*"}',
      '',
    ].join('\n');
    const r = await applyFile(bad, 'bad-route.yaml', true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.rules[0].matches[0].path.type');
  });
});

describe('upgrades keep the webhook certificates', () => {
  const injectorTls = (objs: KubeObject[]) => ({
    secret: (find(objs, 'Secret', 'trellis-proxy-injector-k8s-tls') as KubeObject & { data: Record<string, string> }).data['tls.crt'],
    caBundle: (find(objs, 'MutatingWebhookConfiguration', 'trellis-proxy-injector-webhook-config')['webhooks'] as { clientConfig: { caBundle: string } }[])[0]
      ?.clientConfig.caBundle,
    checksum: (podTemplate(find(objs, 'Deployment', 'trellis-proxy-injector'))['metadata'] as { annotations: Record<string, string> }).annotations[
      'checksum/proxy-injector-tls'
    ],
  });

  it('reuses the certificate of the Secret already in the cluster, so an upgrade does not roll the injector', async () => {
    const ns = namespaces.default;
    const fresh1 = injectorTls(parseManifests(await render(CHARTS.controlPlane, { values: [IDENTITY], namespace: ns, kubeconfig })));
    const fresh2 = injectorTls(parseManifests(await render(CHARTS.controlPlane, { values: [IDENTITY], namespace: ns, kubeconfig })));
    // Nothing installed yet: each render generates its own certificate.
    expect(fresh1.secret).not.toBe(fresh2.secret);

    const pem = (parse(await readFile(WEBHOOK_TLS, 'utf8')) as { proxyInjector: { crtPEM: string; keyPEM: string } }).proxyInjector;
    const created = await kubectl(['create', 'secret', 'tls', 'trellis-proxy-injector-k8s-tls', '-n', ns, `--cert=${await writeTemp('tls.crt', pem.crtPEM)}`, `--key=${await writeTemp('tls.key', pem.keyPEM)}`]);
    expect(created.stderr).toBe('');

    const upgrade1 = injectorTls(parseManifests(await render(CHARTS.controlPlane, { values: [IDENTITY], namespace: ns, kubeconfig })));
    const upgrade2 = injectorTls(parseManifests(await render(CHARTS.controlPlane, { values: [IDENTITY], namespace: ns, kubeconfig, set: { 'proxy.logLevel': 'debug' } })));
    const existing = Buffer.from(pem.crtPEM).toString('base64');
    expect(upgrade1).toEqual({ secret: existing, caBundle: existing, checksum: upgrade1.checksum });
    expect(upgrade2).toEqual(upgrade1);
  });
});

async function writeTemp(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}
