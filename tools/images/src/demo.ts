// The demo app's images (trellis/demo-<app>), so the demo runs on a node as images like the components do: each app
// bundled by esbuild (tools/demo/src/<app>/main.ts -> dist/demo/<app>/main.js), then tools/demo/Dockerfile.
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { InputsHash, INPUTS_LABEL, baseInput, upToDate, type Built } from './cache.ts';
import { must } from './exec.ts';

export const DEMO_APPS = ['web', 'emoji', 'voting', 'vote-bot'] as const;
export type DemoApp = (typeof DEMO_APPS)[number];

/** The demo's own version (tools/demo/package.json): the tag its manifests use. */
export async function demoVersion(repoRoot: string): Promise<string> {
  return (JSON.parse(await readFile(join(repoRoot, 'tools/demo/package.json'), 'utf8')) as { version: string }).version;
}

/** CommonJS dependencies (grpc-js) call require(); an ES module bundle has none unless given one. */
export const REQUIRE_BANNER = { js: "import { createRequire as __trellisRequire } from 'node:module'; const require = __trellisRequire(import.meta.url);" };

export const demoRef = (app: DemoApp, version: string) => `trellis/demo-${app}:${version}`;

/** Bundles one demo app into <out>/dist/demo/<app>/main.js. */
export async function bundleDemo(repoRoot: string, app: DemoApp, out: string): Promise<void> {
  await build({
    entryPoints: [join(repoRoot, 'tools/demo/src', app, 'main.ts')],
    outfile: join(out, 'dist/demo', app, 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    banner: REQUIRE_BANNER,
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'error',
  });
}

/** Builds trellis/demo-<app>:<version> for each app, unless built from the same bundle, files, base and arguments. */
export async function buildDemoImages(o: { repoRoot: string; baseImage: string; version: string; commit: string; isolation: string; apps?: readonly DemoApp[] }): Promise<Built[]> {
  const results: Built[] = [];
  const base = await baseInput(o.baseImage);
  for (const app of o.apps ?? DEMO_APPS) {
    const ctx = await mkdtemp(join(tmpdir(), `trellis-image-demo-${app}-`));
    try {
      await bundleDemo(o.repoRoot, app, ctx);
      await mkdir(join(ctx, 'tools/demo'), { recursive: true });
      await cp(join(o.repoRoot, 'tools/demo/proto'), join(ctx, 'tools/demo/proto'), { recursive: true });
      await cp(join(o.repoRoot, 'tools/demo/Dockerfile'), join(ctx, 'tools/demo/Dockerfile'));
      const ref = demoRef(app, o.version);
      const args = { BASE_IMAGE: o.baseImage, APP: app, VERSION: o.version, REVISION: o.commit };
      const hash = (await new InputsHash().path('context', ctx)).value('base', base);
      for (const [k, v] of Object.entries(args)) hash.value(`arg ${k}`, v);
      const inputs = hash.digest();
      if (await upToDate(ref, inputs)) {
        results.push({ refs: [ref], built: false });
        continue;
      }
      await must('buildah', [
        'bud', '--isolation', o.isolation, '--layers=false',
        ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
        '--label', `${INPUTS_LABEL}=${inputs}`,
        '-f', join(ctx, 'tools/demo/Dockerfile'), '-t', ref, ctx,
      ]);
      results.push({ refs: [ref], built: true });
    } finally {
      await rm(ctx, { recursive: true, force: true });
    }
  }
  return results;
}
