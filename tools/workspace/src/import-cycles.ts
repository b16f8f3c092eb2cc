// Import circles among a folder's TypeScript files: the strongly connected components of the graph of relative
// imports (type-only imports included: a type that travels both ways ties the files together just the same).
// `node tools/workspace/src/import-cycles.ts apps/proxy/src` prints each circle and exits 1 when there is one.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';
import { sourceFiles } from './source-files.ts';

export interface ImportCycle {
  /** The files of the circle, relative to the folder, sorted. */
  readonly files: readonly string[];
  /** Each file's imports that stay inside the circle. */
  readonly edges: ReadonlyMap<string, readonly string[]>;
}

/** The files `file` imports (import, export-from, import()), resolved and limited to `known`. */
function importsOf(file: string, known: ReadonlySet<string>): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const out = new Set<string>();
  for (const ref of info.importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const target = resolve(dirname(file), ref.fileName);
    if (known.has(target)) out.add(target);
  }
  return [...out];
}

/** Tarjan's algorithm over the folder's import graph; components of one file are not circles. */
export function findImportCycles(folder: string): ImportCycle[] {
  const root = resolve(folder);
  const files = sourceFiles(root);
  const known = new Set(files);
  const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const c: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      c.push(w);
    } while (w !== v);
    if (c.length > 1) components.push(c);
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return components.map((c) => {
    const inside = new Set(c);
    const rel = (f: string) => relative(root, f);
    return {
      files: c.map(rel).sort(),
      edges: new Map(c.map((f) => [rel(f), (graph.get(f) ?? []).filter((d) => inside.has(d)).map(rel).sort()] as const).sort(([a], [b]) => a.localeCompare(b))),
    };
  });
}

export function formatCycles(folder: string, cycles: readonly ImportCycle[]): string {
  if (cycles.length === 0) return `${folder}: no import circles\n`;
  let out = '';
  for (const c of cycles) {
    out += `${folder}: import circle of ${c.files.length} files\n`;
    for (const [f, deps] of c.edges) out += `  ${f} -> ${deps.join(', ')}\n`;
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  let found = 0;
  for (const folder of process.argv.slice(2)) {
    const cycles = findImportCycles(folder);
    found += cycles.length;
    process.stdout.write(formatCycles(folder, cycles));
  }
  process.exitCode = found > 0 ? 1 : 0;
}
