// The standalone trellis executable for this machine's architecture, built as the pipeline builds it, run where
// PATH holds no node (nor anything else): `version` and `install --crds`, whose output must be helm template's.
// Also the npm package, installed from its tarball and run with Node.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '@trellis/config';
import { exec, must } from '../src/exec.ts';
import { buildNpmPackage, buildStandalone, helmFor, nodeFor, type Arch } from '../src/standalone.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const arch: Arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
let dir: string;
let helm: string;
let binary: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-standalone-test-'));
  const cache = join(dir, 'cache');
  helm = await helmFor(arch, REPO_ROOT, cache, () => undefined);
  const built = await buildStandalone({ repoRoot: REPO_ROOT, arch, outDir: join(dir, 'out'), helm, node: await nodeFor(arch, cache, () => undefined), say: () => undefined });
  binary = built.path;
  expect(await readFile(`${binary}.sha256`, 'utf8')).toBe(`${createHash('sha256').update(await readFile(binary)).digest('hex')}  trellis-linux-${arch}\n`);
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the executable with an empty PATH, a HOME of its own and no kubeconfig. */
async function standalone(...args: string[]) {
  const empty = join(dir, 'empty-path');
  await mkdir(empty, { recursive: true });
  return exec(binary, args, { env: { PATH: empty, HOME: join(dir, 'home'), KUBECONFIG: join(dir, 'no-kubeconfig') } });
}

describe('the standalone trellis', () => {
  it('runs version with no node on PATH', async () => {
    expect(await exec('sh', ['-c', `PATH=${join(dir, 'empty-path')} command -v node || echo none`]).then((r) => r.stdout)).toBe('none\n');
    const client = await standalone('version', '--client');
    expect(client).toEqual({ code: 0, stdout: `Client version: ${VERSION}\n`, stderr: '' });
    const full = await standalone('version');
    expect(full.code).toBe(0);
    expect(full.stdout).toBe(`Client version: ${VERSION}\nServer version: unavailable\n`);
  }, 60_000);

  it("prints helm template's CRDs for install --crds, with its embedded helm", async () => {
    const r = await standalone('install', '--crds');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const kubeVersion = /^KUBERNETES_VERSION=(\S+)$/m.exec(await readFile(join(REPO_ROOT, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
    const want = await must(helm, ['template', 'trellis-crds', join(REPO_ROOT, 'helm/trellis-crds'), '--namespace', 'trellis', '--kube-version', kubeVersion]);
    expect(r.stdout).toBe(want);
    expect(r.stdout).toContain('name: serviceprofiles.linkerd.io');
  }, 60_000);
});

describe('the npm package', () => {
  it('installs from its tarball and runs trellis version with Node', async () => {
    await must(join(REPO_ROOT, 'node_modules/.bin/nx'), ['run', '@trellis/cli:build', '--output-style=static'], { cwd: REPO_ROOT });
    const tgz = await buildNpmPackage(REPO_ROOT, VERSION, join(dir, 'npm-out'));
    expect(tgz).toMatch(new RegExp(`trellis-cli-${VERSION.replaceAll('.', '\\.')}\\.tgz$`));
    const prefix = join(dir, 'npm-prefix');
    await must('npm', ['install', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tgz]);
    const r = await exec(join(prefix, 'node_modules/.bin/trellis'), ['version', '--client'], { env: { ...process.env, PATH: `${join(REPO_ROOT, 'node_modules/.bin')}:/usr/bin:/bin` } });
    expect(r).toEqual({ code: 0, stdout: `Client version: ${VERSION}\n`, stderr: '' });
  }, 240_000);
});
