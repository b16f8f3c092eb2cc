// Every object of the viz chart must be accepted by a real kube-apiserver: the CRD chart is applied for real (the
// policy resources need it), then each viz render is applied with --dry-run=server --validate=strict.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHARTS, KUBECTL, render, run, type RunResult } from '../src/helm.ts';
import { ofKind, parseManifests } from '../src/manifests.ts';
import { VIZ_CASES } from './viz-cases.ts';

const kubeconfig = inject('kubeconfig');
// A namespace of this run only: the cluster may be shared with other projects' tests.
const ns = `trellis-viz-charts-${randomBytes(3).toString('hex')}`;
let dir: string;

const kubectl = (args: readonly string[]): Promise<RunResult> => run(KUBECTL, [...args], { ...process.env, KUBECONFIG: kubeconfig });

async function apply(text: string, name: string, dryRun: boolean): Promise<RunResult> {
  const file = join(dir, name);
  await writeFile(file, text);
  return kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=trellis-viz-charts-test', '--validate=strict', ...(dryRun ? ['--dry-run=server'] : []), '-f', file]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-viz-charts-'));
  expect((await kubectl(['create', 'namespace', ns])).stderr).toBe('');
  const crds = await render(CHARTS.crds, {});
  expect((await apply(crds, 'crds.yaml', false)).code).toBe(0);
  const names = ofKind(parseManifests(crds), 'CustomResourceDefinition').map((c) => `crd/${c.metadata.name}`);
  expect((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names])).stderr).toBe('');
}, 120_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', '--wait=false', ns]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kube-apiserver accepts the viz chart', () => {
  // The PodMonitor is the Prometheus Operator's CRD, which this cluster does not have: that case is applied
  // without it (its shape is checked against the bundled scrape configuration in viz.spec.ts).
  it.each(VIZ_CASES.map((c) => [c.name, c] as const))('accepts every object of %s', async (name, c) => {
    // installNamespace=false: the namespace is this run's own, made above.
    const objects = parseManifests(await render(CHARTS.viz, { ...c.opts, namespace: ns, set: { ...c.opts.set, installNamespace: 'false' } })).filter((o) => !(c.operatorObjects && o.kind === 'PodMonitor'));
    const text = objects.map((o) => `---\n${JSON.stringify(o)}\n`).join('');
    const r = await apply(text, `${name}.yaml`, true);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'))).toHaveLength(objects.length);
    expect(objects.length).toBeGreaterThanOrEqual(12);
  });
});
