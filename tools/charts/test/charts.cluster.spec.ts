// Every rendered object must be accepted by a real kube-apiserver: the CRD chart is applied for real (and must
// become Established), then each control-plane render and an example of every policy resource is applied with
// --dry-run=server --validate=strict, which runs the API server's full validation and defaulting.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHARTS, KUBECTL, render, run, type RunResult } from '../src/helm.ts';
import { names, ofKind, parseManifests } from '../src/manifests.ts';
import { FIXTURES, GOLDEN_CASES } from './golden.ts';

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
  return kubectl(['apply', '--validate=strict', ...(dryRun ? ['--dry-run=server'] : []), '-f', file]);
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
