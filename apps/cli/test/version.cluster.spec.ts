// `trellis version --proxy` against a real API server: meshed pods counted per proxy version. The shared cluster
// runs no pods, so the pods stay Pending; their labels and annotations are what the command reads.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { VERSION } from '@trellis/config';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const ns = `trellis-version-${suffix}`;
const cp = `trellis-cp-${suffix}`;

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }));
    child.stdin?.end(stdin);
  });
}

const pod = (name: string, version: string | undefined, extraLabels: Record<string, string> = {}) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { 'linkerd.io/control-plane-ns': cp, ...extraLabels }, annotations: version ? { 'linkerd.io/proxy-version': version } : {} },
    spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }] },
  });

beforeAll(async () => {
  expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
  for (const p of [pod('a', '0.1.0'), pod('b', '0.1.0'), pod('c', '0.0.9'), pod('d', undefined), pod('cp', '0.1.0', { 'linkerd.io/control-plane-component': 'destination' })]) {
    expect((await kubectl(['apply', '-f', '-'], p)).stderr).toBe('');
  }
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('trellis version --proxy', () => {
  it("counts the data plane's pods per proxy version, leaving out the control plane's", async () => {
    let out = '';
    let err = '';
    const code = await runCli(['-n', ns, 'version', '--proxy', '-L', cp, '--kubeconfig', kubeconfig], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      readStdin: async () => '',
    });
    expect(code).toBe(0);
    expect(out).toBe(`Client version: ${VERSION}\nServer version: unavailable\nProxy versions:\n\t0.0.9 (1 pod)\n\t0.1.0 (2 pods)\n\tunknown (1 pod)\n`);
    expect(err).toBe(`trellis version: cannot read ConfigMap ${cp}/trellis-config: not found (is Trellis installed?)\n`);
  }, 30_000);
});
