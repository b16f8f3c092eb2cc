// Builds a real image with buildah (root): the local base assembled from the pinned Node, an app's Dockerfile with
// a stand-in bundle, then the smoke runner against it. The full images are built by `trellis-images` in CI.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBase } from '../src/base.ts';
import { buildImage } from '../src/build.ts';
import { exec } from '../src/exec.ts';
import { smoke } from '../src/smoke.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NODE = join(REPO_ROOT, 'node_modules/node/bin/node');
const tag = `test-${randomBytes(3).toString('hex')}`;
let root: string;
let base: string;

// Prints like a Trellis program: `<name> <version>` for --version, a usage line otherwise.
const STAND_IN = `if (process.argv.includes('--version')) console.log('cli 9.9.9'); else console.log('usage: stand-in uid=' + process.getuid());\n`;

beforeAll(async () => {
  const buildah = await exec('buildah', ['--version']).catch((err: Error) => ({ code: 127, stdout: '', stderr: err.message }));
  if (buildah.code !== 0) throw new Error(`buildah is required for this test (apt-get install buildah): ${buildah.stderr}`);
  base = (await ensureBase('node', NODE, process.versions.node, false)).ref;
  root = await mkdtemp(join(tmpdir(), 'trellis-images-test-'));
  await mkdir(join(root, 'dist/apps/cli'), { recursive: true });
  await mkdir(join(root, 'apps/cli'), { recursive: true });
  await writeFile(join(root, 'dist/apps/cli/main.js'), STAND_IN);
  await copyFile(join(REPO_ROOT, 'apps/cli/Dockerfile'), join(root, 'apps/cli/Dockerfile'));
}, 300_000);

afterAll(async () => {
  await exec('buildah', ['rmi', `trellis/cli:${tag}`, `trellis/cli:${tag}-b`, `trellis/cli:${tag}-c`, `trellis/identity:${tag}`]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('an image built on the local base', () => {
  it('builds from the app Dockerfile, tags every tag, and runs as the declared non-root user', async () => {
    const { refs, built } = await buildImage({ repoRoot: root, app: 'cli', baseImage: base, version: '9.9.9', commit: 'abc1234', tags: [tag, `${tag}-b`], isolation: 'chroot' });
    expect(refs).toEqual([`trellis/cli:${tag}`, `trellis/cli:${tag}-b`]);
    expect(built).toBe(true);
    const results = await smoke(refs[0] as string, { app: 'cli', uid: 65534, base: 'node', smoke: [{ what: 'runs as nobody', argv: ['node', '/app/main.js'], expect: 'uid=65534' }] }, '9.9.9', 'chroot');
    expect(results.map((r) => [r.check, r.ok, r.ok ? '' : r.output])).toEqual([
      ['runs as uid 65534, entrypoint node /app/main.js', true, ''],
      ['--version prints 9.9.9', true, ''],
      ['runs as nobody', true, ''],
    ]);
  }, 300_000);

  it('reports a check whose output lacks the expected text as failed', async () => {
    const results = await smoke(`trellis/cli:${tag}`, { app: 'cli', uid: 65534, base: 'node', smoke: [{ what: 'impossible', argv: ['node', '/app/main.js'], expect: 'uid=0' }] }, '9.9.9', 'chroot');
    expect(results.at(-1)).toMatchObject({ check: 'impossible', ok: false });
    expect(results.at(-1)?.output).toContain('uid=65534');
  }, 120_000);

  it('builds nothing when no input changed, and only the image whose input changed', async () => {
    await mkdir(join(root, 'dist/apps/identity'), { recursive: true });
    await mkdir(join(root, 'apps/identity'), { recursive: true });
    await writeFile(join(root, 'dist/apps/identity/main.js'), STAND_IN);
    await copyFile(join(REPO_ROOT, 'apps/identity/Dockerfile'), join(root, 'apps/identity/Dockerfile'));
    const build = (app: string, tags = [tag]) => buildImage({ repoRoot: root, app, baseImage: base, version: '9.9.9', commit: 'abc1234', tags, isolation: 'chroot' });
    const id = async (ref: string) => (await exec('buildah', ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref])).stdout.trim();
    expect((await build('identity')).built).toBe(true);
    const [cliId, identityId] = [await id(`trellis/cli:${tag}`), await id(`trellis/identity:${tag}`)];

    // Nothing changed: neither is built; a new tag of an unchanged image is only a tag.
    expect((await build('cli', [tag, `${tag}-c`])).built).toBe(false);
    expect((await build('identity')).built).toBe(false);
    expect([await id(`trellis/cli:${tag}`), await id(`trellis/cli:${tag}-c`), await id(`trellis/identity:${tag}`)]).toEqual([cliId, cliId, identityId]);

    // cli's bundle changed: cli alone is built again, and its new image runs the new bundle.
    await writeFile(join(root, 'dist/apps/cli/main.js'), STAND_IN.replace('cli 9.9.9', 'cli 9.9.9 (changed)'));
    expect((await build('cli')).built).toBe(true);
    expect((await build('identity')).built).toBe(false);
    expect(await id(`trellis/cli:${tag}`)).not.toBe(cliId);
    expect(await id(`trellis/identity:${tag}`)).toBe(identityId);
    await writeFile(join(root, 'dist/apps/cli/main.js'), STAND_IN);
    await rm(join(root, 'dist/apps/identity'), { recursive: true });
  }, 300_000);

  it('names the missing bundle and how to build it', async () => {
    await expect(buildImage({ repoRoot: root, app: 'identity', baseImage: base, version: '9.9.9', commit: 'abc1234', tags: [tag], isolation: 'chroot' })).rejects.toThrow(
      'dist/apps/identity is missing: build it with `nx run @trellis/identity:build`',
    );
  });
});
