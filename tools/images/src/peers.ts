// The end-to-end tests' peer apps as one image (trellis/e2e-peers), so a kubelet node runs them as it runs the demo:
// each tools/e2e/src/peers/*-main.ts bundled by esbuild into /app/<name>.js on the Node base, user 65534. A pod
// picks its program with `command: [node, /app/<name>.js]`. Never pushed.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REQUIRE_BANNER } from './demo.ts';
import { InputsHash, baseInput, type Built } from './cache.ts';
import { must } from './exec.ts';
import { commitImage } from './working-container.ts';

export const peersRef = (version: string) => `trellis/e2e-peers:${version}`;

/** Builds trellis/e2e-peers:<version> from the Node base unless it was built from the same bundles and base. */
export async function buildPeersImage(o: { repoRoot: string; baseImage: string; version: string }): Promise<Built> {
  const src = join(o.repoRoot, 'tools/e2e/src/peers');
  const mains = (await readdir(src)).filter((f) => f.endsWith('-main.ts'));
  const out = await mkdtemp(join(tmpdir(), 'trellis-image-peers-'));
  const ref = peersRef(o.version);
  try {
    await build({
      entryPoints: mains.map((m) => join(src, m)),
      outdir: out,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      outExtension: { '.js': '.js' },
      banner: REQUIRE_BANNER,
      legalComments: 'none',
      logLevel: 'error',
    });
    const config = ['--user', '65534:65534', '--workingdir', '/app', '--entrypoint', '["node"]', '--cmd', '', '--label', 'org.opencontainers.image.description=Trellis e2e peer apps (tools/e2e/src/peers)'];
    const inputs = (await new InputsHash().path('app', out)).value('base', await baseInput(o.baseImage)).value('config', JSON.stringify(config)).digest();
    const built = await commitImage(o.baseImage, ref, async (ctr) => {
      await must('buildah', ['copy', ctr, out, '/app']);
      await must('buildah', ['config', ...config, ctr]);
    }, inputs);
    return { refs: [ref], built };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
