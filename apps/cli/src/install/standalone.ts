// In the standalone executable (a Node single executable application) the charts, versions.env and a pinned helm
// are embedded as assets; they are written once to a cache directory keyed by the CLI's version and read from there.
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { VERSION } from '@trellis/config';

export function cacheRoot(): string {
  return process.env['TRELLIS_CACHE'] ?? join(homedir(), '.cache', 'trellis');
}

/** The manifest asset lists every other asset key; each key is a path relative to the extraction directory. */
export const MANIFEST_ASSET = 'manifest.json';

export interface StandaloneManifest {
  readonly files: readonly string[];
  /** Keys written with the executable bit (helm). */
  readonly executables: readonly string[];
  /** sha256 over the keys and contents of every file. */
  readonly digest: string;
}

let extracted: string | undefined;

function extract(): string | undefined {
  if (extracted) return extracted;
  if (!isSea()) return undefined;
  const keys = JSON.parse(Buffer.from(getAsset(MANIFEST_ASSET)).toString('utf8')) as StandaloneManifest;
  // Keyed by content too: a rebuilt executable of the same version never reads another build's charts.
  const dir = join(cacheRoot(), `cli-${VERSION}-${keys.digest.slice(0, 16)}`);
  const done = join(dir, '.complete');
  if (!existsSync(done)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    for (const key of keys.files) {
      const path = join(tmp, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, Buffer.from(getAsset(key)));
      if (keys.executables.includes(key)) chmodSync(path, 0o755);
    }
    writeFileSync(join(tmp, '.complete'), '');
    mkdirSync(dirname(dir), { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another trellis process extracted the same version first; its copy is as good as ours.
      if (!existsSync(done)) throw err;
    }
  }
  extracted = dir;
  return dir;
}

export function standaloneAssets(): { charts: string; versions: string } | undefined {
  const dir = extract();
  return dir ? { charts: join(dir, 'charts'), versions: join(dir, 'versions.env') } : undefined;
}

/** The helm binary embedded in the standalone executable, if it carries one. */
export function standaloneHelm(): string | undefined {
  const dir = extract();
  const path = dir ? join(dir, 'bin', 'helm') : undefined;
  return path && existsSync(path) ? path : undefined;
}
