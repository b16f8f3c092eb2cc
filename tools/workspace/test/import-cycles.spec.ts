// No import circles in the apps and libs: a circle means two parts cannot be read, tested or moved apart. The
// checker is itself checked on a folder with a circle, so a checker that finds nothing cannot pass for a clean tree.
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findImportCycles, formatCycles } from '../src/import-cycles.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const folders = ['apps', 'libs'].flatMap((d) => readdirSync(join(root, d)).map((p) => `${d}/${p}/src`)).filter((f) => {
  try {
    return readdirSync(join(root, f)).length > 0;
  } catch {
    return false;
  }
});
/** Circles that predate the check, by folder: their number may only go down. */
const tolerated: Record<string, number> = { 'apps/destination/src': 1 };

describe('import circles', () => {
  it.each(folders)('%s has none', (folder) => {
    const cycles = findImportCycles(join(root, folder));
    const allowed = tolerated[folder] ?? 0;
    if (cycles.length > allowed) expect.fail(formatCycles(folder, cycles));
  });

  const tmp = mkdtempSync(join(tmpdir(), 'import-cycles-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds a circle made of type-only imports across folders, and names its edges', () => {
    mkdirSync(join(tmp, 'a'));
    mkdirSync(join(tmp, 'b'));
    writeFileSync(join(tmp, 'a/one.ts'), "import type { Two } from '../b/two.ts';\nexport interface One { two?: Two }\n");
    writeFileSync(join(tmp, 'b/two.ts'), "export { three } from './three.ts';\nexport interface Two { n: number }\n");
    writeFileSync(join(tmp, 'b/three.ts'), "import type { One } from '../a/one.ts';\nexport const three = (o: One) => o;\n");
    writeFileSync(join(tmp, 'b/four.ts'), "import { three } from './three.ts';\nexport const four = three;\n");
    writeFileSync(join(tmp, 'b/three.spec.ts'), "import { four } from './four.ts';\nexport const t = four;\n");
    const cycles = findImportCycles(tmp);
    expect(cycles.map((c) => c.files)).toEqual([['a/one.ts', 'b/three.ts', 'b/two.ts']]);
    expect(formatCycles('x', cycles)).toBe('x: import circle of 3 files\n  a/one.ts -> b/two.ts\n  b/three.ts -> a/one.ts\n  b/two.ts -> b/three.ts\n');
  });
});
