// Pushed images kept by image ID: `buildah push` to an OCI layout compresses every layer again (3-4 s an image here,
// most of a node's image load), so each image is pushed once per image ID into a content-addressed store
// (<TRELLIS_CACHE>/oci: blobs/sha256/<digest> and images/<id>.json holding the manifest's descriptor). A load then
// assembles a layout of just the images it needs from hard links into that store, and containerd imports it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const ociCacheDir = () => join(process.env['TRELLIS_CACHE'] ?? join(homedir(), '.cache/trellis'), 'oci');

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

const blobPath = (root: string, digest: string) => join(root, 'blobs', digest.replace(':', '/'));

/** Pushes `source` (image ID `id`) into the store unless it is there; resolves with its manifest's descriptor. */
async function stored(root: string, source: string, id: string): Promise<Descriptor> {
  const record = join(root, 'images', `${id.replace(/^sha256:/, '')}.json`);
  if (existsSync(record)) {
    const d = JSON.parse(await readFile(record, 'utf8')) as Descriptor;
    if (existsSync(blobPath(root, d.digest))) return d;
  }
  await mkdir(join(root, 'blobs/sha256'), { recursive: true });
  await mkdir(join(root, 'images'), { recursive: true });
  const tmp = await mkdtemp(join(root, 'push-'));
  try {
    await exec('buildah', ['push', '--quiet', '--compression-level', '1', source, `oci:${tmp}:image`], { maxBuffer: 16 << 20 }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`buildah push ${source}: ${err.stderr?.trim() || err.message}`, { cause: err });
    });
    const index = JSON.parse(await readFile(join(tmp, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const { annotations: _, ...manifest } = index.manifests[0]!;
    // Blobs are named by their digest: one already stored is the same bytes, and a rename is atomic.
    for (const blob of await readdir(join(tmp, 'blobs/sha256'))) {
      const to = join(root, 'blobs/sha256', blob);
      if (!existsSync(to)) await rename(join(tmp, 'blobs/sha256', blob), to);
    }
    await writeFile(`${record}.tmp`, JSON.stringify(manifest));
    await rename(`${record}.tmp`, record);
    return manifest;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The digests a manifest names: itself, its config, its layers. */
async function blobsOf(root: string, manifest: Descriptor): Promise<string[]> {
  const m = JSON.parse(await readFile(blobPath(root, manifest.digest), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
  return [manifest.digest, m.config.digest, ...m.layers.map((l) => l.digest)];
}

/**
 * Runs `use` with the path of an OCI layout that holds each image under each of its names (names already
 * normalized); the layout is removed afterwards.
 */
export async function withOciLayout<T>(images: readonly { source: string; id: string; names: readonly string[] }[], use: (layout: string) => Promise<T>): Promise<T> {
  const root = ociCacheDir();
  await mkdir(root, { recursive: true });
  const manifests: Descriptor[] = [];
  const blobs = new Set<string>();
  for (const image of images) {
    const d = await stored(root, image.source, image.id);
    for (const b of await blobsOf(root, d)) blobs.add(b);
    for (const name of image.names) manifests.push({ ...d, annotations: { 'org.opencontainers.image.ref.name': name } });
  }
  const layout = await mkdtemp(join(root, 'layout-'));
  try {
    await mkdir(join(layout, 'blobs/sha256'), { recursive: true });
    for (const b of blobs) await link(blobPath(root, b), blobPath(layout, b));
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
    return await use(layout);
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
}
