// The standalone `trellis`: one executable per Linux architecture, a Node single executable application (the
// pinned Node with the CLI's CommonJS bundle injected) carrying the Helm charts, versions.env and a pinned helm as
// assets, with a sha256 beside it; and the npm package of the ESM bundle for people who have Node.
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { inject } from 'postject';
import { must } from './exec.ts';

export type Arch = 'amd64' | 'arm64';
export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];
/** Node's name for the architecture (npm's node-linux-<arch> packages, process.arch). */
const NODE_ARCH: Record<Arch, string> = { amd64: 'x64', arm64: 'arm64' };
/** The fuse Node's single-executable loader looks for (Node's documented sentinel). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface StandaloneOptions {
  readonly repoRoot: string;
  readonly arch: Arch;
  readonly outDir: string;
  /** The helm binary to embed for this architecture; undefined embeds none (install then looks for one). */
  readonly helm: string | undefined;
  /** The Node binary of this architecture. */
  readonly node: string;
  readonly say: (line: string) => void;
}

export interface Built {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** The CommonJS bundle Node 24 runs inside a single executable (it runs no ESM entry there). */
export async function bundleCommonJs(repoRoot: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [join(repoRoot, 'apps/cli/src/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: ['*.node'],
    logLevel: 'error',
    legalComments: 'none',
  });
}

/** Asset key → file: the charts, versions.env and helm, plus the manifest the CLI extracts them by. */
async function assetMap(repoRoot: string, helm: string | undefined, work: string): Promise<Record<string, string>> {
  const assets: Record<string, string> = {};
  const chartsRoot = join(repoRoot, 'helm');
  for (const f of await filesUnder(chartsRoot)) assets[`charts/${relative(chartsRoot, f)}`] = f;
  assets['versions.env'] = join(repoRoot, 'tools/bin/versions.env');
  if (helm) assets['bin/helm'] = helm;
  const digest = createHash('sha256');
  for (const [key, file] of Object.entries(assets)) digest.update(`${key}\0`).update(await readFile(file)).update('\0');
  const manifest = join(work, 'manifest.json');
  await writeFile(manifest, JSON.stringify({ files: Object.keys(assets), executables: helm ? ['bin/helm'] : [], digest: digest.digest('hex') }));
  return { 'manifest.json': manifest, ...assets };
}

export async function buildStandalone(o: StandaloneOptions): Promise<Built> {
  const work = await mkdtemp(join(tmpdir(), `trellis-standalone-${o.arch}-`));
  try {
    const main = join(work, 'trellis.cjs');
    await bundleCommonJs(o.repoRoot, main);
    const blob = join(work, 'sea.blob');
    // No code cache or snapshot: the blob is then the same for every architecture, so one Node builds all.
    const config = { main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets: await assetMap(o.repoRoot, o.helm, work) };
    await writeFile(join(work, 'sea-config.json'), JSON.stringify(config));
    await must(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], { cwd: work });
    await mkdir(o.outDir, { recursive: true });
    const out = join(o.outDir, `trellis-linux-${o.arch}`);
    await rm(out, { force: true });
    await copyFile(o.node, out);
    await chmod(out, 0o755);
    await inject(out, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: SEA_FUSE });
    const bytes = await readFile(out);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(`${out}.sha256`, `${sha256}  trellis-linux-${o.arch}\n`);
    o.say(`built ${out} (${(bytes.length / 2 ** 20).toFixed(1)} MiB, sha256 ${sha256})`);
    return { path: out, sha256, bytes: bytes.length };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The pinned Node for an architecture: this one for the host's, else npm's node-linux-<arch> of the same version. */
export async function nodeFor(arch: Arch, cacheDir: string, say: (line: string) => void): Promise<string> {
  if (NODE_ARCH[arch] === process.arch) return process.execPath;
  const pkg = `node-linux-${NODE_ARCH[arch]}`;
  const dir = join(cacheDir, `${pkg}-${process.versions.node}`);
  const node = join(dir, 'package', 'bin', 'node');
  if (existsSync(node)) return node;
  say(`fetching ${pkg}@${process.versions.node} with npm pack`);
  await mkdir(dir, { recursive: true });
  const tgz = (await must('npm', ['pack', `${pkg}@${process.versions.node}`, '--pack-destination', dir, '--silent'], { cwd: dir })).trim().split('\n').at(-1) ?? '';
  await must('tar', ['-xzf', join(dir, tgz), '-C', dir]);
  if (!existsSync(node)) throw new Error(`${pkg}@${process.versions.node} has no package/bin/node`);
  return node;
}

/** The pinned helm for an architecture: tools/bin/ensure's for the host, else cross-built once into the cache. */
export async function helmFor(arch: Arch, repoRoot: string, cacheDir: string, say: (line: string) => void): Promise<string> {
  if (NODE_ARCH[arch] === process.arch) return (await must(join(repoRoot, 'tools/bin/ensure'), ['helm'])).trim();
  const version = /^HELM_VERSION=(\S+)$/m.exec(await readFile(join(repoRoot, 'tools/bin/versions.env'), 'utf8'))?.[1];
  if (!version) throw new Error('tools/bin/versions.env pins no HELM_VERSION');
  const dir = join(cacheDir, `helm-${version}-linux-${arch}`);
  const helm = join(dir, 'helm');
  if (existsSync(helm)) return helm;
  say(`cross-building helm ${version} for linux/${arch} with go (once)`);
  const src = join(dir, 'src');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'go.mod'), `module trellis.local/helm-${arch}\n\ngo 1.24.0\n\nrequire helm.sh/helm/v3 ${version}\n\ntool helm.sh/helm/v3/cmd/helm\n`);
  await must('go', ['mod', 'tidy'], { cwd: src });
  await must('go', ['build', '-trimpath', '-ldflags', `-s -w -X helm.sh/helm/v3/internal/version.version=${version}`, '-o', helm, 'helm.sh/helm/v3/cmd/helm'], {
    cwd: src,
    env: { ...process.env, GOOS: 'linux', GOARCH: arch, CGO_ENABLED: '0' },
  });
  return helm;
}

/** The npm package: the ESM bundle (with its charts) as `trellis`, packed into a tarball in outDir. */
export async function buildNpmPackage(repoRoot: string, version: string, outDir: string): Promise<string> {
  const dist = join(repoRoot, 'dist/apps/cli');
  if (!existsSync(join(dist, 'main.js')) || !existsSync(join(dist, 'assets', 'versions.env'))) throw new Error(`${dist} is not built: nx run @trellis/cli:build`);
  const pkg = join(outDir, 'npm');
  await rm(pkg, { recursive: true, force: true });
  await mkdir(pkg, { recursive: true });
  await writeFile(join(pkg, 'main.js'), `#!/usr/bin/env node\n${await readFile(join(dist, 'main.js'), 'utf8')}`, { mode: 0o755 });
  await must('cp', ['-R', join(dist, 'assets'), join(pkg, 'assets')]);
  await writeFile(
    join(pkg, 'package.json'),
    `${JSON.stringify(
      {
        name: '@trellis/cli',
        version,
        description: 'trellis: install, check and observe the Trellis service mesh',
        type: 'module',
        bin: { trellis: 'main.js' },
        files: ['main.js', 'assets'],
        engines: { node: '>=24' },
        license: 'Apache-2.0',
      },
      null,
      2,
    )}\n`,
  );
  const tgz = (await must('npm', ['pack', '--pack-destination', outDir, '--silent'], { cwd: pkg })).trim().split('\n').at(-1) ?? '';
  return join(outDir, tgz);
}
