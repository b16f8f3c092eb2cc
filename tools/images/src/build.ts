// One image: a build context holding only what the Dockerfile copies (the bundle, the proxy's addon and helper
// script), then `buildah bud` with the base image and version as build arguments, tagged with every tag.
import { cp, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InputsHash, INPUTS_LABEL, baseInput, tagAs, upToDate, type Built } from './cache.ts';
import { must } from './exec.ts';
import { localName } from './plan.ts';

/** Paths under the repository root that a Dockerfile may COPY, per app. */
export function contextPaths(app: string): string[] {
  const paths = [`dist/apps/${app}`, `apps/${app}/Dockerfile`];
  if (app === 'proxy') paths.push('libs/net/build/Release/trellis_net.node', 'tools/images/files/linkerd-await.mjs', 'tools/images/files/linkerd-network-validator.mjs');
  return paths;
}

export interface BuildOptions {
  readonly repoRoot: string;
  readonly app: string;
  readonly baseImage: string;
  readonly version: string;
  readonly commit: string;
  readonly tags: readonly string[];
  readonly isolation: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function buildImage(o: BuildOptions): Promise<Built> {
  const ctx = await mkdtemp(join(tmpdir(), `trellis-image-${o.app}-`));
  try {
    for (const rel of contextPaths(o.app)) {
      const from = join(o.repoRoot, rel);
      if (!(await exists(from))) {
        const hint = rel.endsWith('.node') ? 'build it with `npm run build:addon -w libs/net`' : `build it with \`nx run @trellis/${o.app}:build\``;
        throw new Error(`${rel} is missing: ${hint}`);
      }
      await mkdir(join(ctx, dirname(rel)), { recursive: true });
      await cp(from, join(ctx, rel), { recursive: true });
    }
    const refs = o.tags.map((t) => `${localName(o.app)}:${t}`);
    const args = { BASE_IMAGE: o.baseImage, VERSION: o.version, REVISION: o.commit };
    const hash = (await new InputsHash().path('context', ctx)).value('base', await baseInput(o.baseImage));
    for (const [k, v] of Object.entries(args)) hash.value(`arg ${k}`, v);
    const inputs = hash.digest();
    const cached = await Promise.all(refs.map((r) => upToDate(r, inputs)));
    if (cached[0]) {
      await tagAs(refs[0]!, refs.filter((_, i) => !cached[i]));
      return { refs, built: false };
    }
    await must('buildah', [
      'bud',
      '--isolation', o.isolation,
      '--layers=false',
      ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
      '--label', `${INPUTS_LABEL}=${inputs}`,
      '-f', join(ctx, 'apps', o.app, 'Dockerfile'),
      ...refs.flatMap((r) => ['-t', r]),
      ctx,
    ]);
    return { refs, built: true };
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
