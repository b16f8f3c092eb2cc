// Every object of the CNI chart must be accepted by a real kube-apiserver (--dry-run=server --validate=strict).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHARTS, KUBECTL, render, run, type RunResult } from '../src/helm.ts';
import { parseManifests } from '../src/manifests.ts';
import { CNI_CASES } from './cni-cases.ts';

const kubeconfig = inject('kubeconfig');
// A namespace of this run only: the cluster may be shared with other projects' tests.
const ns = `trellis-cni-charts-${randomBytes(3).toString('hex')}`;
let dir: string;
const kubectl = (args: readonly string[]): Promise<RunResult> => run(KUBECTL, [...args], { ...process.env, KUBECONFIG: kubeconfig });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-cni-charts-'));
  expect((await kubectl(['create', 'namespace', ns])).stderr).toBe('');
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', '--wait=false', ns]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kube-apiserver accepts the CNI chart', () => {
  it.each(CNI_CASES.map((c) => [c.name, c] as const))('accepts every object of %s', async (name, c) => {
    const objects = parseManifests(await render(CHARTS.cni, { ...c.opts, namespace: ns, set: { ...c.opts.set, installNamespace: 'false' } }));
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, objects.map((o) => `---\n${JSON.stringify(o)}\n`).join(''));
    const r = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=trellis-cni-charts-test', '--validate=strict', '--dry-run=server', '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.endsWith('(server dry run)'))).toHaveLength(objects.length);
  });
});
