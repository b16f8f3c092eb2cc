// Builds the front end: src/ui/main.ts bundled and minified into app.js, style.css (with uPlot's) into app.css, and
// index.html, into one directory that the server reads at start (--assets-dir). Run by `nx run @trellis/web:build-ui`:
//   node apps/web/src/ui-build/build.ts OUT_DIR
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

const UI = join(import.meta.dirname, '..', 'ui');

export interface BuiltUi {
  readonly dir: string;
  /** Bytes of each file written. */
  readonly sizes: Readonly<Record<string, number>>;
}

export async function buildUi(outDir: string): Promise<BuiltUi> {
  // Chunk names change with their content: a previous build's would linger and be served.
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(UI, 'main.ts'), 'app-style': join(UI, 'style.css') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome120', 'firefox120', 'safari17'],
    // Plain ASCII output: no charset surprises whatever the server or proxy in between says.
    charset: 'ascii',
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    entryNames: '[name]',
    // The graph and chart libraries load when a page first needs them (import() in the pages).
    splitting: true,
    chunkNames: 'chunk-[hash]',
  });
  await rename(join(outDir, 'app-style.css'), join(outDir, 'app.css'));
  await copyFile(join(UI, 'index.html'), join(outDir, 'index.html'));
  const sizes: Record<string, number> = {};
  for (const f of (await readdir(outDir)).sort()) sizes[f] = (await stat(join(outDir, f))).size;
  return { dir: outDir, sizes };
}

if (import.meta.main) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node apps/web/src/ui-build/build.ts OUT_DIR\n');
    process.exit(2);
  }
  const built = await buildUi(out);
  process.stdout.write(`front end built in ${built.dir}: ${Object.entries(built.sizes).map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} kB`).join(', ')}\n`);
}
