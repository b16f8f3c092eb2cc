// No function over 80 lines on the proxy's outbound HTTP path, where most changes land: a function that long holds
// more than one stage or one decision, and cannot be read or tested in parts. The checker is itself checked on a
// folder with a long function, so a checker that finds nothing cannot pass for a clean tree.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLengths, functionLengths, longFunctions } from '../src/function-length.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const MAX = 80;
/**
 * The outbound path (docs/ARCHITECTURE.md, proxy internals): accept and detect (tcp/), the route stages, endpoint
 * client and relay (outbound/), the shared route matching and filters (policy/), ServiceProfile routes, retries
 * and budgets (profiles/), the balancer (balance/), the codecs (http/) and the endpoint client's mTLS (tls/).
 */
const outboundPath = ['tcp', 'outbound', 'policy', 'profiles', 'balance', 'http', 'tls'].map((d) => `apps/proxy/src/${d}`);

describe('function length', () => {
  it.each(outboundPath)(`%s has no function over ${MAX} lines`, (folder) => {
    const long = longFunctions(join(root, folder), MAX);
    if (long.length > 0) expect.fail(`split these functions (at most ${MAX} lines each):\n${formatLengths(folder, long)}`);
  });

  const tmp = mkdtempSync(join(tmpdir(), 'function-length-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('counts functions, methods and arrows from their first line to their last, naming each by how it is bound', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  x += ${i};`).join('\n');
    writeFileSync(
      join(tmp, 'a.ts'),
      [
        '/** A doc comment is not counted. */',
        `export function long(x: number): number {\n${body(79)}\n  return x;\n}`, // 82 lines
        `export const edge = (x: number): number => {\n${body(77)}\n  return x;\n};`, // 80 lines
        `class C {\n  m(x: number): number {\n${body(79)}\n    return x;\n  }\n}`, // m: 82 lines
        `export const o = { f: function (x: number) {\n${body(80)}\n  return x;\n} };`, // 83 lines
      ].join('\n'),
    );
    writeFileSync(join(tmp, 'a.spec.ts'), `export function inSpec(x: number): number {\n${body(100)}\n  return x;\n}\n`);
    expect(longFunctions(tmp, MAX).map((f) => `${f.file}:${f.line} ${f.name} ${f.lines}`)).toEqual(['a.ts:248 f 83', 'a.ts:2 long 82', 'a.ts:165 m 82']);
    expect(functionLengths(tmp).find((f) => f.name === 'edge')?.lines).toBe(80);
    expect(formatLengths('x', longFunctions(tmp, 82))).toBe('x/a.ts:248 f: 83 lines\n');
  });
});
