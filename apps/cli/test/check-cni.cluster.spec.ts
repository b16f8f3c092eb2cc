// trellis check's CNI checks against a real API server: --pre warns about namespaces whose Pod Security refuses
// linkerd-init, and --pre --cni-enabled checks the plugin's objects, before and after `trellis install-cni` is
// applied. The shared test cluster has no node, so the DaemonSet runs nowhere: a warning, not a failure.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const cniNs = `trellis-cni-check-${suffix}`;
const restricted = `restricted-${suffix}`;

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, [...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
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

afterAll(async () => {
  await kubectl(['delete', 'namespace', '--wait=false', '--ignore-not-found', cniNs, restricted]);
  await kubectl(['delete', '--ignore-not-found', 'clusterrole/trellis-cni', 'clusterrolebinding/trellis-cni']);
});

describe('trellis check and the CNI plugin', () => {
  it('--pre warns about namespaces whose Pod Security refuses linkerd-init, and says what to do instead', async () => {
    expect((await kubectl(['create', 'namespace', restricted])).code).toBe(0);
    expect((await kubectl(['label', 'namespace', restricted, 'pod-security.kubernetes.io/enforce=restricted'])).code).toBe(0);
    const r = await trellis('check', '--pre', '-L', `trellis-fresh-${suffix}`);
    expect(r.out).toContain(`‼ pods may run linkerd-init with NET_ADMIN and NET_RAW\n    Pod Security refuses linkerd-init's NET_ADMIN and NET_RAW in:`);
    expect(r.out).toContain(`${restricted} (pod-security.kubernetes.io/enforce=restricted)`);
    expect(r.out).toContain('trellis install-cni | kubectl apply -f -');
    expect(r.code, r.out).toBe(0);
  }, 60_000);

  it('--pre --cni-enabled fails until the plugin is installed, naming what is missing', async () => {
    const r = await trellis('check', '--pre', '--cni-enabled', '--cni-namespace', cniNs, '-L', `trellis-fresh-${suffix}`, '--wait', '0s');
    expect(r.code).toBe(1);
    expect(r.out).toContain(`× cni plugin ConfigMap exists\n    no ConfigMap ${cniNs}/trellis-cni-config\n    see: trellis install-cni | kubectl apply -f -`);
    expect(r.out).toContain(`× cni plugin DaemonSet exists\n    no DaemonSet ${cniNs}/trellis-cni`);
    expect(r.out).not.toContain('pods may run linkerd-init');
  }, 60_000);

  it('--pre --cni-enabled passes once trellis install-cni is applied (no node here: the DaemonSet runs nowhere, a warning)', async () => {
    const manifests = await trellis('install-cni', '--cni-namespace', cniNs);
    expect(manifests.code, manifests.err).toBe(0);
    const applied = await kubectl(['apply', '-f', '-'], manifests.out);
    expect(applied.stderr).toBe('');
    const r = await trellis('check', '--pre', '--linkerd-cni-enabled', '--cni-namespace', cniNs, '-L', `trellis-fresh-${suffix}`, '--wait', '60s');
    for (const what of ['ConfigMap', 'ClusterRole', 'ClusterRoleBinding', 'ServiceAccount', 'DaemonSet']) expect(r.out).toContain(`√ cni plugin ${what} exists`);
    expect(r.out).toContain(`‼ cni plugin pod is running on all nodes\n    DaemonSet ${cniNs}/trellis-cni runs on no node`);
    expect(r.code, r.out).toBe(0);
  }, 120_000);
});
