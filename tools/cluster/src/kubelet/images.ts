// Images reach the node without a registry: buildah writes the images it built into one OCI layout (layers shared
// between images are stored once; gzip at level 1, as this buildah compresses OCI layers even when told not to), and
// containerd imports that layout as a tar stream. The OCI layout keeps each image's config digest, its ID. Each image is
// imported under the name a pod spec's reference normalizes to (`trellis/proxy:1.0` is `docker.io/trellis/proxy:1.0`),
// so manifests and the chart need no registry prefix.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRI_NAMESPACE, CTR_BIN } from './containerd.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The fully qualified name containerd's CRI plugin looks an image reference up by. */
export function normalizedName(ref: string): string {
  const [first, ...rest] = ref.split('/');
  const hasHost = rest.length > 0 && (first!.includes('.') || first!.includes(':') || first === 'localhost');
  const named = hasHost ? ref : `docker.io/${rest.length === 0 ? `library/${ref}` : ref}`;
  const last = named.split('/').at(-1)!;
  return last.includes(':') || last.includes('@') ? named : `${named}:latest`;
}

export interface ImageToLoad {
  /** The image in buildah's local storage (name or ID). */
  readonly source: string;
  /** References pods use for it. */
  readonly names: readonly string[];
}

function pipe(producer: [string, string[]], consumer: [string, string[]]): Promise<void> {
  return new Promise((resolve, reject) => {
    const a = spawn(producer[0], producer[1], { stdio: ['ignore', 'pipe', 'pipe'] });
    const b = spawn(consumer[0], consumer[1], { stdio: ['pipe', 'pipe', 'pipe'] });
    let errA = '';
    let errB = '';
    a.stderr.on('data', (d: Buffer) => (errA += d.toString()));
    b.stderr.on('data', (d: Buffer) => (errB += d.toString()));
    b.stdout.resume();
    // ctr stops reading at the archive's end marker and may exit before tar's record padding is written to it: that
    // write's EPIPE is not a failure (both exit codes decide), and unhandled it would crash the caller.
    b.stdin.on('error', () => undefined);
    a.stdout.pipe(b.stdin);
    let left = 2;
    const codes: (number | null)[] = [];
    const done = (code: number | null) => {
      codes.push(code);
      if (--left > 0) return;
      if (codes.every((c) => c === 0)) resolve();
      else reject(new Error(`${producer[0]} | ${consumer.join(' ')} failed: ${(errA + errB).trim()}`));
    };
    a.on('close', done);
    b.on('close', done);
    a.on('error', reject);
    b.on('error', reject);
  });
}

/** Imports buildah images into the node's containerd under each of their names. */
export async function loadImages(socket: string, images: readonly ImageToLoad[]): Promise<void> {
  const layout = await mkdtemp(join(tmpdir(), 'trellis-oci-'));
  try {
    for (const image of images) {
      for (const name of image.names) {
        await exec('buildah', ['push', '--quiet', '--compression-level', '1', image.source, `oci:${layout}:${normalizedName(name)}`], { maxBuffer: 16 << 20 }).catch((err: { stderr?: string; message: string }) => {
          throw new Error(`buildah push ${image.source}: ${err.stderr?.trim() || err.message}`, { cause: err });
        });
      }
    }
    await pipe(['tar', ['-C', layout, '-cf', '-', '.']], [CTR_BIN, ['--address', socket, '--namespace', CRI_NAMESPACE, 'images', 'import', '-']]);
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
}

/** The ID (config digest) of an image in buildah's storage: what the kubelet reports as a container's imageID. */
export async function buildahImageId(ref: string): Promise<string> {
  const out = await exec('buildah', ['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref]);
  return `sha256:${out.stdout.trim().replace(/^sha256:/, '')}`;
}
