// Linkerd's proxy image for a local node (never pushed): the linkerd2-proxy binary tools/bin pins (its sha256 checked
// there) and tools/linkerd-proxy's entrypoint (the key and CSR Linkerd's image writes, then exec of the proxy), on the
// Node base, under the reference the injector renders for `config.linkerd.io/proxy-image: cr.l5d.io/linkerd/proxy`.
// linkerd-await sits beside the proxy, as in Linkerd's image, for the injector's postStart hook.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REQUIRE_BANNER } from './demo.ts';
import { InputsHash, baseInput, type Built } from './cache.ts';
import { must } from './exec.ts';
import { commitImage } from './working-container.ts';

/** The reference the injector renders for `config.linkerd.io/proxy-image: cr.l5d.io/linkerd/proxy` with the
 * `proxy-version` of the Linkerd release this linkerd2-proxy build stands for (../shared/tools/linkerd2-proxy). */
export const LINKERD_PROXY_REF = 'cr.l5d.io/linkerd/proxy:edge-26.8.1';
/** Where Linkerd's image has the proxy; the entrypoint execs it (TRELLIS_LINKERD2_PROXY_BIN tells it where). */
const PROXY_BINARY_PATH = '/usr/lib/linkerd/linkerd2-proxy';
const ENTRYPOINT_PATH = '/usr/lib/linkerd/proxy-entrypoint.js';

/** Builds cr.l5d.io/linkerd/proxy:<version> from the Node base unless it was built from the same files and base. */
export async function buildLinkerdProxyImage(o: { repoRoot: string; baseImage: string }): Promise<Built> {
  const binary = (await must(join(o.repoRoot, 'tools/bin/linkerd2-proxy'), ['--binary-path'])).trim();
  const out = await mkdtemp(join(tmpdir(), 'trellis-image-linkerd-proxy-'));
  try {
    await build({
      entryPoints: [join(o.repoRoot, 'tools/linkerd-proxy/src/main.ts')],
      outfile: join(out, 'proxy-entrypoint.js'),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      banner: REQUIRE_BANNER,
      legalComments: 'none',
      logLevel: 'error',
    });
    const awaitScript = join(o.repoRoot, 'tools/images/files/linkerd-await.mjs');
    const config = [
      '--env', `TRELLIS_LINKERD2_PROXY_BIN=${PROXY_BINARY_PATH}`,
      '--user', '2102:2102',
      '--entrypoint', JSON.stringify(['node', ENTRYPOINT_PATH]),
      '--cmd', '',
      '--label', 'org.opencontainers.image.description=linkerd2-proxy (../shared/tools/linkerd2-proxy) with its identity entrypoint, for a local node',
    ];
    const hash = await new InputsHash().path('proxy', binary);
    await hash.path('entrypoint', join(out, 'proxy-entrypoint.js'));
    await hash.path('await', awaitScript);
    const inputs = hash.value('base', await baseInput(o.baseImage)).value('config', JSON.stringify(config)).digest();
    const built = await commitImage(o.baseImage, LINKERD_PROXY_REF, async (ctr) => {
      await must('buildah', ['copy', '--chmod', '0755', ctr, binary, PROXY_BINARY_PATH]);
      await must('buildah', ['copy', ctr, join(out, 'proxy-entrypoint.js'), ENTRYPOINT_PATH]);
      await must('buildah', ['copy', '--chmod', '0755', ctr, awaitScript, '/usr/lib/linkerd/linkerd-await']);
      await must('buildah', ['config', ...config, ctr]);
    }, inputs);
    return { refs: [LINKERD_PROXY_REF], built };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
