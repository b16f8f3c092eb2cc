// Runs the pinned helm (tools/bin/helm) against the charts in helm/, the way an operator would.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const HELM = join(REPO_ROOT, 'tools/bin/helm');
export const KUBECTL = join(REPO_ROOT, 'tools/bin/kubectl');
export const CHARTS = {
  crds: join(REPO_ROOT, 'helm/trellis-crds'),
  controlPlane: join(REPO_ROOT, 'helm/trellis-control-plane'),
  viz: join(REPO_ROOT, 'helm/trellis-viz'),
  cni: join(REPO_ROOT, 'helm/trellis-cni'),
} as const;

/** The Kubernetes version the local cluster runs (tools/bin/versions.env); renders target it. */
export const KUBE_VERSION = (() => {
  const env = readFileSync(join(REPO_ROOT, 'tools/bin/versions.env'), 'utf8');
  const m = /^KUBERNETES_VERSION=(\S+)$/m.exec(env);
  if (!m?.[1]) throw new Error('KUBERNETES_VERSION missing from tools/bin/versions.env');
  return m[1];
})();

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (callers assert on it). */
export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

export interface RenderOptions {
  /** Values files, in order (later ones win). */
  readonly values?: readonly string[];
  /** --set key=value pairs. */
  readonly set?: Readonly<Record<string, string>>;
  /** --set-string key=value pairs. */
  readonly setString?: Readonly<Record<string, string>>;
  readonly namespace?: string;
  readonly release?: string;
  /** Render against this cluster (`--dry-run=server`), so `lookup` sees existing objects. */
  readonly kubeconfig?: string;
}

function valueArgs(opts: RenderOptions): string[] {
  const args: string[] = [];
  for (const f of opts.values ?? []) args.push('-f', f);
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${v}`);
  for (const [k, v] of Object.entries(opts.setString ?? {})) args.push('--set-string', `${k}=${v}`);
  return args;
}

/** `helm template`; the result carries helm's exit code and stderr (render failures are assertions too). */
export function template(chart: string, opts: RenderOptions = {}): Promise<RunResult> {
  return run(HELM, [
    'template',
    opts.release ?? 'trellis',
    chart,
    '--namespace',
    opts.namespace ?? 'trellis',
    '--kube-version',
    KUBE_VERSION,
    ...(opts.kubeconfig ? ['--dry-run=server', '--kubeconfig', opts.kubeconfig] : []),
    ...valueArgs(opts),
  ]);
}

/** `helm template` that must succeed: returns the manifests, throws with helm's message otherwise. */
export async function render(chart: string, opts: RenderOptions = {}): Promise<string> {
  const r = await template(chart, opts);
  if (r.code !== 0) throw new Error(`helm template ${chart} failed (exit ${r.code}):\n${r.stderr}`);
  return r.stdout;
}

/** `helm lint --strict` with the given values. */
export function lint(chart: string, opts: RenderOptions = {}): Promise<RunResult> {
  return run(HELM, ['lint', '--strict', chart, '--namespace', opts.namespace ?? 'trellis', '--kube-version', KUBE_VERSION, ...valueArgs(opts)]);
}
