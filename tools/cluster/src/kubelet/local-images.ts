// Images the node makes for itself in buildah's storage, from binaries on this machine: the pod sandbox's pause
// (built from the Kubernetes module's C source by tools/bin/ensure) and busybox (Debian's static busybox, for
// test pods that need a shell, a small HTTP server and nc).
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, symlink, copyFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolPath } from '../tools.ts';
import type { ImageToLoad } from './images.ts';

const exec = promisify(execFile);
export const BUSYBOX_BIN = '/bin/busybox';

async function buildahHas(ref: string): Promise<boolean> {
  return (await exec('buildah', ['images', '--quiet', '--noheading', ref]).catch(() => ({ stdout: '' }))).stdout.trim() !== '';
}

/** A one-layer image from a directory tree, with an entrypoint and a user. */
async function commitTree(ref: string, tree: string, config: string[]): Promise<void> {
  const c = (await exec('buildah', ['from', 'scratch'])).stdout.trim();
  try {
    await exec('buildah', ['copy', c, tree, '/']);
    await exec('buildah', ['config', ...config, c]);
    await exec('buildah', ['commit', '--quiet', c, ref]);
  } finally {
    await exec('buildah', ['rm', c]).catch(() => undefined);
  }
}

/** The pause image for pod sandboxes, named after the Kubernetes version its source came from. */
export async function pauseImage(): Promise<ImageToLoad> {
  const bin = await toolPath('pause');
  const version = bin.split('/').at(-2)!.replace(/^pause-/, '');
  const ref = `localhost/trellis/pause:${version}`;
  if (!(await buildahHas(ref))) {
    const tree = await mkdtemp(join(tmpdir(), 'trellis-pause-'));
    try {
      await copyFile(bin, join(tree, 'pause'));
      await chmod(join(tree, 'pause'), 0o755);
      await commitTree(ref, tree, ['--entrypoint', '["/pause"]', '--user', '65535:65535']);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  }
  return { source: ref, names: [ref] };
}

/**
 * busybox with every applet linked in /bin, for test pods. Its tag is not `latest`, so pods use it as it is
 * (imagePullPolicy IfNotPresent) instead of trying to pull it.
 */
export const BUSYBOX_IMAGE = 'localhost/trellis/busybox:host';

export async function busyboxImage(): Promise<ImageToLoad> {
  const ref = BUSYBOX_IMAGE;
  if (!(await buildahHas(ref))) {
    const tree = await mkdtemp(join(tmpdir(), 'trellis-busybox-'));
    try {
      await mkdir(join(tree, 'bin'));
      await copyFile(BUSYBOX_BIN, join(tree, 'bin/busybox'));
      await chmod(join(tree, 'bin/busybox'), 0o755);
      const applets = (await exec(BUSYBOX_BIN, ['--list'])).stdout.split('\n').filter((a) => a && a !== 'busybox');
      for (const a of applets) await symlink('busybox', join(tree, 'bin', a));
      for (const d of ['tmp', 'etc']) await mkdir(join(tree, d), { mode: 0o1777 });
      await commitTree(ref, tree, ['--env', 'PATH=/bin', '--cmd', 'sh']);
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  }
  return { source: ref, names: [ref] };
}
