// The manifests `trellis inject` writes are valid Kubernetes objects: the API server accepts them (dry run).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools', 'bin', 'kubectl');
const testdata = join(import.meta.dirname, '..', 'testdata');

function kubectl(args: readonly string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

async function trellis(argv: string[], stdin = ''): Promise<string> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, readStdin: async () => stdin });
  if (code !== 0) throw new Error(`trellis ${argv.join(' ')} exited ${code}: ${stderr}`);
  return stdout;
}

// The fixtures' namespace, renamed so suites sharing the cluster do not meet.
const ns = `emojivoto-${randomBytes(3).toString('hex')}`;
const deployments = readFileSync(join(testdata, 'emojivoto-deployments.yaml'), 'utf8').replaceAll('namespace: emojivoto', `namespace: ${ns}`);

describe('trellis inject output on a real API server', () => {
  beforeAll(async () => {
    expect((await kubectl(['create', 'namespace', ns], '')).code).toBe(0);
  });
  afterAll(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false'], '');
  });

  it('--manual Deployments are accepted by kubectl apply --dry-run=server', async () => {
    const manifests = await trellis(['inject', '--manual', '--ignore-cluster', '-'], deployments);
    expect(manifests).toContain('linkerd-proxy');
    const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'deployment.apps/emoji created (server dry run)',
      'deployment.apps/vote-bot created (server dry run)',
      'deployment.apps/voting created (server dry run)',
      'deployment.apps/web created (server dry run)',
    ]);
  });

  it('--manual non-native sidecars are accepted too', async () => {
    const manifests = await trellis(['inject', '--manual', '--ignore-cluster', '--native-sidecar=false', '--wait-before-exit-seconds', '5', '-'], deployments);
    const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });

  it('plain inject output is accepted', async () => {
    const manifests = await trellis(['inject', '-'], deployments);
    const r = await kubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});
