// The built front end, read once at start into memory (a few hundred kB): each file with its type, an ETag and a
// gzipped copy, so a page load costs no disk reads and little bandwidth through a port-forward.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '@trellis/config';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzipped: Buffer;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Assets by URL path (`/` is index.html). Source maps and unknown kinds are not served. */
export async function loadAssets(dir: string): Promise<ReadonlyMap<string, Asset>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new ConfigError(`cannot read the front end in ${dir} (--assets-dir): ${(err as Error).message}`);
  }
  if (!names.includes('index.html')) throw new ConfigError(`${dir} (--assets-dir) has no index.html: build the front end first (nx run @trellis/web:build)`);
  const out = new Map<string, Asset>();
  for (const name of names.sort()) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = await readFile(join(dir, name));
    const asset = { type, body, gzipped: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    out.set(`/${name}`, asset);
    if (name === 'index.html') out.set('/', asset);
  }
  return out;
}
