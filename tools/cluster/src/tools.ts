// Resolves pinned external binaries through tools/bin/ensure, which builds them into the cache on first use.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENSURE = `${REPO_ROOT}tools/bin/ensure`;
const resolved = new Map<string, Promise<string>>();

export type Tool = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kube-proxy' | 'kubectl' | 'kubelet' | 'pause' | 'helm' | 'coredns' | 'prometheus' | 'jaeger';

/** Absolute path of a pinned tool; builds it on first use (minutes), then costs one stat. */
export function toolPath(tool: Tool): Promise<string> {
  let p = resolved.get(tool);
  if (!p) {
    p = run(ENSURE, [tool], { maxBuffer: 1 << 20 }).then(
      (r) => r.stdout.trim(),
      (err: { stderr?: string; message: string }) => {
        resolved.delete(tool);
        throw new Error(`cannot provide ${tool}: ${err.stderr?.trim() || err.message}`);
      },
    );
    resolved.set(tool, p);
  }
  return p;
}
