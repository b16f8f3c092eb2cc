// The helm binary the CLI renders the charts with, so that `trellis install` prints exactly what `helm template`
// does: $TRELLIS_HELM, the pinned version in the tool cache or on PATH, the one inside the standalone executable,
// else the pinned version built once with `go install` into the cache (said on stderr). Nothing else is guessed.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TrellisError } from '@trellis/config';
import { assets } from './assets.ts';
import { cacheRoot, standaloneHelm } from './standalone.ts';

export class HelmError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_HELM', message);
  }
}

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
      resolve({ code, stdout, stderr: err && !stderr ? err.message : stderr });
    });
  });
}

async function versionOf(helm: string): Promise<string | undefined> {
  const r = await run(helm, ['version', '--template', '{{.Version}}']);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

let found: string | undefined;

/** The path of a helm binary of the pinned version; `say` gets one line when it has to build it. */
export async function findHelm(say: (line: string) => void): Promise<string> {
  if (found) return found;
  const explicit = process.env['TRELLIS_HELM'];
  if (explicit) {
    if (!existsSync(explicit)) throw new HelmError(`TRELLIS_HELM=${explicit} does not exist`);
    return (found = explicit);
  }
  const { helmVersion } = assets();
  const cached = join(cacheRoot(), 'tools', `helm-${helmVersion}`, 'helm');
  if (existsSync(cached)) return (found = cached);
  const embedded = standaloneHelm();
  if (embedded) return (found = embedded);
  const path = onPath('helm');
  if (path && (await versionOf(path)) === helmVersion) return (found = path);
  const go = onPath('go');
  if (!go) {
    const other = path ? ` (the helm on PATH, ${path}, is ${(await versionOf(path)) ?? 'of unknown version'})` : '';
    throw new HelmError(
      `trellis renders its Helm charts with helm ${helmVersion}, which is not installed${other}: put helm ${helmVersion} on PATH, set TRELLIS_HELM to one, or install Go so that trellis can build it`,
    );
  }
  say(`trellis: helm ${helmVersion} not found; building it with go into ${join(cacheRoot(), 'tools', `helm-${helmVersion}`)} (once; a few minutes)`);
  const r = await run(go, ['install', '-trimpath', '-ldflags', `-s -w -X helm.sh/helm/v3/internal/version.version=${helmVersion}`, `helm.sh/helm/v3/cmd/helm@${helmVersion}`], {
    ...process.env,
    GOBIN: join(cacheRoot(), 'tools', `helm-${helmVersion}`),
    CGO_ENABLED: '0',
  });
  if (r.code !== 0 || !existsSync(cached)) throw new HelmError(`building helm ${helmVersion} failed: ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return (found = cached);
}

/** `helm template RELEASE CHART -n NAMESPACE ARGS...`: the rendered manifests. */
export async function helmTemplate(release: string, chart: string, namespace: string, args: readonly string[], opts: { verbose: (line: string) => void; say: (line: string) => void }): Promise<string> {
  const helm = await findHelm(opts.say);
  const full = ['template', release, join(assets().chartsDir, chart), '--namespace', namespace, '--kube-version', assets().kubeVersion, ...args];
  opts.verbose(`trellis: ${helm} ${full.map((a) => (/^[\w./=:@,-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
  const r = await run(helm, full);
  if (r.code !== 0) throw new HelmError(`rendering ${chart}: ${r.stderr.trim().replace(/^Error: /, '')}`);
  return r.stdout;
}
