import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadAssets } from './assets.ts';

describe('loadAssets', () => {
  it('serves index.html at / and each known kind with its type, a gzipped copy and an ETag; skips source maps', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'web-assets-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(join(dir, 'app.js'), 'console.log(1)');
    await writeFile(join(dir, 'app.js.map'), '{}');
    const a = await loadAssets(dir);
    expect([...a.keys()]).toEqual(['/app.js', '/index.html', '/']);
    expect(a.get('/')?.type).toBe('text/html; charset=utf-8');
    expect(gunzipSync(a.get('/app.js')?.gzipped as Buffer).toString()).toBe('console.log(1)');
    expect(a.get('/app.js')?.etag).toMatch(/^"[\w-]{22}"$/);
  });

  it('fails naming the directory and the build command when the front end was not built', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'web-assets-'));
    await expect(loadAssets(dir)).rejects.toThrow(`${dir} (--assets-dir) has no index.html: build the front end first (nx run @trellis/web:build)`);
    await expect(loadAssets(join(dir, 'nope'))).rejects.toThrow(/cannot read the front end in .*nope \(--assets-dir\)/);
  });
});
