// Runs a built image once per check, as the user the image declares, and reports what it printed.
import { exec, must } from './exec.ts';
import type { ImageSpec, SmokeCheck } from './images.ts';

export interface SmokeResult {
  readonly check: string;
  readonly ok: boolean;
  readonly output: string;
}

export interface ImageConfig {
  readonly user: string;
  readonly entrypoint: readonly string[];
}

export async function imageConfig(ref: string): Promise<ImageConfig> {
  const raw = await must('buildah', ['inspect', '--type', 'image', ref]);
  const cfg = (JSON.parse(raw) as { OCIv1?: { config?: { User?: string; Entrypoint?: string[] } } }).OCIv1?.config ?? {};
  return { user: cfg.User ?? '', entrypoint: cfg.Entrypoint ?? [] };
}

/** Starts a working container of the image, runs each check in it, removes it. */
export async function smoke(ref: string, spec: ImageSpec, version: string, isolation: string): Promise<SmokeResult[]> {
  const results: SmokeResult[] = [];
  const cfg = await imageConfig(ref);
  const entrypoint = (spec.entrypoint ?? ['node', '/app/main.js']).join(' ');
  results.push({
    check: `runs as uid ${spec.uid}, entrypoint ${entrypoint}`,
    ok: cfg.user === `${spec.uid}:${spec.uid}` && cfg.entrypoint.join(' ') === entrypoint,
    output: `User=${cfg.user} Entrypoint=${JSON.stringify(cfg.entrypoint)}`,
  });
  const version_: SmokeCheck = { what: `--version prints ${version}`, argv: spec.versionArgv ?? ['node', '/app/main.js', '--version'], expect: version };
  const ctr = (await must('buildah', ['from', '--pull-never', ref])).trim();
  try {
    for (const check of [version_, ...spec.smoke]) {
      const r = await exec('buildah', ['run', '--isolation', isolation, '--user', cfg.user, ctr, '--', ...check.argv], check.stdin === undefined ? {} : { stdin: check.stdin });
      const output = `${r.stdout}${r.stderr}`;
      results.push({ check: check.what, ok: r.code === 0 && output.includes(check.expect), output: output.trim().slice(0, 2000) });
    }
  } finally {
    await must('buildah', ['rm', ctr]).catch(() => undefined);
  }
  return results;
}
