// Long functions in a folder's TypeScript files: every function, method, accessor, constructor and arrow function
// whose text runs over a number of lines, counted from the line it starts on (its leading comment excluded) to the
// line it ends on. A function nested in another counts on its own and inside its parent alike.
// `node tools/workspace/src/function-length.ts 80 apps/proxy/src/outbound` prints each and exits 1 when there is one.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { sourceFiles } from './source-files.ts';

export interface FunctionLength {
  /** The file, relative to the folder. */
  readonly file: string;
  /** 1-based line of the function's first token. */
  readonly line: number;
  /** The function's name, or how it is bound (`const f = () => ...`, `{ f: () => ... }`); `<anonymous>` otherwise. */
  readonly name: string;
  readonly lines: number;
}

function nameOf(fn: ts.SignatureDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(fn)) return 'constructor';
  if (fn.name) return fn.name.getText(sf);
  const p = fn.parent;
  if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name) return p.name.getText(sf);
  return '<anonymous>';
}

/** Every function with a body in `folder` (specs excluded), longest first. */
export function functionLengths(folder: string): FunctionLength[] {
  const root = resolve(folder);
  const out: FunctionLength[] = [];
  for (const file of sourceFiles(root)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body) {
        const start = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
        out.push({ file: relative(root, file), line: start + 1, name: nameOf(n, sf), lines: end - start + 1 });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
}

/** The functions in `folder` over `max` lines, longest first. */
export function longFunctions(folder: string, max: number): FunctionLength[] {
  return functionLengths(folder).filter((f) => f.lines > max);
}

export function formatLengths(folder: string, fns: readonly FunctionLength[]): string {
  return fns.map((f) => `${folder}/${f.file}:${f.line} ${f.name}: ${f.lines} lines\n`).join('');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const [maxArg, ...folders] = process.argv.slice(2);
  const max = Number(maxArg);
  let found = 0;
  for (const folder of folders) {
    const long = longFunctions(folder, max);
    found += long.length;
    process.stdout.write(long.length > 0 ? formatLengths(folder, long) : `${folder}: no function over ${max} lines\n`);
  }
  process.exitCode = found > 0 ? 1 : 0;
}
