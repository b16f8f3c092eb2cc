import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildUi } from './build.ts';

describe('buildUi', () => {
  it('bundles the front end into index.html, app.js and app.css, ASCII only, with the libraries inside', async () => {
    const out = await mkdtemp(join(tmpdir(), 'web-ui-'));
    const built = await buildUi(out);
    expect(Object.keys(built.sizes)).toEqual(['index.html', 'app.js', 'app.css']);
    const js = await readFile(join(out, 'app.js'), 'utf8');
    expect([...js].filter((c) => c.charCodeAt(0) > 127)).toEqual([]);
    // Nothing is loaded from elsewhere at run time: no bare imports left for the browser to resolve.
    expect(js).not.toMatch(/from\s*"(preact|uplot|cytoscape|htm)/);
    const css = await readFile(join(out, 'app.css'), 'utf8');
    expect(css).toContain('.uplot');
    expect(await readFile(join(out, 'index.html'), 'utf8')).toContain('<script type="module" src="app.js"></script>');
  }, 60_000);
});
