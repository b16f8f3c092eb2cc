// Builds `trellis-cni`, the single executable the container runtime execs (with a bare environment, so it cannot
// count on a `node` on PATH): the plugin's CommonJS bundle injected into the pinned Node as a single executable
// application. `node apps/cni-plugin/scripts/sea.ts <out>`; the root tests build it the same way.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { inject } from 'postject';

const execFileP = promisify(execFile);
/** The fuse Node's single-executable loader looks for (Node's documented sentinel). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const MAIN = resolve(import.meta.dirname, '../src/main.ts');

export async function buildPluginExecutable(out: string, node = process.execPath): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'trellis-cni-sea-'));
  try {
    const bundle = join(work, 'trellis-cni.cjs');
    await build({
      entryPoints: [MAIN],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      // ASCII output and no whitespace: V8 keeps a one-byte source, and the runtime execs this once per pod.
      charset: 'ascii',
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      logLevel: 'error',
    });
    const blob = join(work, 'sea.blob');
    const config = join(work, 'sea-config.json');
    await writeFile(config, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
    await execFileP(node, ['--experimental-sea-config', config], { cwd: work });
    await mkdir(dirname(out), { recursive: true });
    await rm(out, { force: true });
    await copyFile(node, out);
    await chmod(out, 0o755);
    await inject(out, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: SEA_FUSE });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  const out = resolve(process.argv[2] ?? 'dist/apps/cni-plugin/trellis-cni');
  await buildPluginExecutable(out);
  process.stdout.write(`${out}\n`);
}
