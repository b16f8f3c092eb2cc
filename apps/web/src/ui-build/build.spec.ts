import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildUi } from './build.ts';

describe('buildUi', () => {
  it('bundles the front end into index.html, a small app.js, lazily loaded chunks and app.css, ASCII only, with the libraries inside', async () => {
    const out = await mkdtemp(join(tmpdir(), 'web-ui-'));
    const built = await buildUi(out);
    const files = Object.keys(built.sizes);
    expect(files.filter((f) => !f.startsWith('chunk-'))).toEqual(['app.css', 'app.js', 'index.html']);
    // The first paint needs app.js and what it imports statically, not the graph and chart libraries.
    expect(built.sizes['app.js']).toBeLessThan(64 * 1024);
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      const js = await readFile(join(out, f), 'utf8');
      expect([...js].filter((c) => c.charCodeAt(0) > 127), f).toEqual([]);
      // Nothing is loaded from elsewhere at run time: no bare imports left for the browser to resolve.
      expect(js, f).not.toMatch(/from\s*"(preact|uplot|cytoscape|htm)/);
    }
    const css = await readFile(join(out, 'app.css'), 'utf8');
    expect(css).toContain('.uplot');
    expect(await readFile(join(out, 'index.html'), 'utf8')).toContain('<script type="module" src="app.js"></script>');
  }, 60_000);
});
