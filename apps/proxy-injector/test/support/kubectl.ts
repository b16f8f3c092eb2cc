// The pinned kubectl (tools/bin/kubectl) against a given kubeconfig.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const KUBECTL = join(import.meta.dirname, '..', '..', '..', '..', 'tools', 'bin', 'kubectl');

export function kubectl(kubeconfig: string, args: readonly string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(kubeconfig: string, args: readonly string[], stdin?: string): Promise<string> {
  const r = await kubectl(kubeconfig, args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}
