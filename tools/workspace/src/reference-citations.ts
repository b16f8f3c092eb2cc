// Citations of the reference pages in the code's comments and READMEs: `docs/reference/<page>.md §N`, a list of
// sections (`§2, §5`, `§1.9–1.10`), a topic (`§4 "Headers"`), and the short form `contracts §N` for
// linkerd-contracts.md. Each must name a page of docs/reference and a section that page defines (`## §N` or
// `**§N.M`), and a topic must be a bold term or heading inside that section. A path into the design brief (its
// reference or design folder, beside the repository) is outside the repository and never resolves.
// `node tools/workspace/src/reference-citations.ts docs/reference apps libs tools` prints each unresolved citation
// and exits 1 when there is one.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';

export interface Citation {
  /** The citing file, relative to the folder scanned. */
  readonly file: string;
  readonly line: number;
  /** The page named, e.g. `linkerd-contracts.md`. */
  readonly page: string;
  /** `1.9`, or empty for a citation of the whole page into the brief. */
  readonly section: string;
  readonly topic?: string;
  /** Why it does not resolve; absent when it does. */
  readonly problem?: string;
}

// Output, not source: test reports (.test-results, written while other projects' tests run), builds, caches.
const SKIP_DIRS = new Set(['node_modules', 'out-tsc', 'dist', 'build', 'coverage']);

function textFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) out.push(...textFiles(p));
    } else if (e.isFile()) out.push(p);
  }
  return out;
}

/** A reference page: the sections it defines and the text of each top-level one. */
interface Page {
  readonly sections: ReadonlySet<string>;
  readonly bodies: ReadonlyMap<string, string>;
}

function readPage(path: string): Page {
  const text = readFileSync(path, 'utf8');
  const sections = new Set<string>();
  for (const m of text.matchAll(/^#+\s+§(\d+(?:\.\d+)*)|\*\*§(\d+(?:\.\d+)*)/gm)) sections.add((m[1] ?? m[2]) as string);
  const bodies = new Map<string, string>();
  const heads = [...text.matchAll(/^##\s+§(\d+)\b.*$/gm)];
  heads.forEach((h, i) => bodies.set(h[1] as string, text.slice(h.index, heads[i + 1]?.index ?? text.length)));
  return { sections, bodies };
}

function defines(page: Page, section: string): boolean {
  if (page.sections.has(section)) return true;
  for (const s of page.sections) if (s.startsWith(`${section}.`)) return true;
  return false;
}

/** A topic is a bold term (`**Refresh timing**`) or a heading within the top-level section. */
function hasTopic(page: Page, section: string, topic: string): boolean {
  const body = page.bodies.get(section.split('.')[0] as string);
  if (body === undefined) return false;
  const t = topic.toLowerCase();
  return body.split('\n').some((l) => /^#+\s/.test(l) && l.toLowerCase().includes(t)) || body.toLowerCase().includes(`**${t}`);
}

// What may sit between the parts of one citation: spaces, backticks, and a line break with a comment's prefix.
const GAP = String.raw`(?:[ \t\x60]|\n[ \t]*(?:\/\/+|\*(?!\*)|#+|--)?)*`;
const REF = String.raw`§(\d+(?:\.\d+)*)(?:${GAP}[–-]${GAP}§?(\d+(?:\.\d+)*))?(?:${GAP}"([^"\n]+)")?`;
const SEP = String.raw`${GAP}(?:,|and|&)${GAP}`;
const CITATION = new RegExp(
  String.raw`((?:[\w./-]*\/)?)([a-z0-9][a-z0-9-]*\.md)\x60?${GAP}\)?${GAP}(${REF}(?:${SEP}${REF})*)|\bcontracts${GAP}(${REF}(?:${SEP}${REF})*)`,
  'g',
);
const ONE_REF = new RegExp(REF, 'g');
const BRIEF = /(?:^|[\s(`'"])((?:\.\.\/|\/work\/)?shared\/(?:reference|design)\/[\w./-]*)/g;

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Every citation of a reference page in the files under `folder`, each with its problem if it has one. */
export function findCitations(folder: string, referenceDir: string): Citation[] {
  const root = resolve(folder);
  const pages = new Map<string, Page | null>();
  const page = (name: string): Page | null => {
    if (!pages.has(name)) {
      try {
        pages.set(name, readPage(join(referenceDir, name)));
      } catch {
        pages.set(name, null);
      }
    }
    return pages.get(name) ?? null;
  };
  const out: Citation[] = [];
  for (const path of textFiles(root)) {
    const buf = readFileSync(path);
    if (buf.includes(0)) continue;
    const text = buf.toString('utf8');
    if (!text.includes('§') && !text.includes('shared/')) continue;
    const file = relative(root, path);
    for (const m of text.matchAll(BRIEF)) {
      const at = (m.index ?? 0) + m[0].indexOf(m[1] as string);
      out.push({ file, line: lineOf(text, at), page: basename(m[1] as string), section: '', problem: `${m[1]} is outside the repository: cite docs/reference` });
    }
    for (const m of text.matchAll(CITATION)) {
      const dir = m[1] ?? '';
      const name = m[2] ?? 'linkerd-contracts.md';
      const refs = (m[3] ?? m[10]) as string; // groups 4-9 are inside the first form's list
      // Another repository's document (an RFC, a README) is not ours to check; a page of docs/reference is,
      // however it is spelled, and so is a path into the brief.
      const briefPath = /shared\/(?:reference|design)\/$/.test(dir);
      if (briefPath) continue; // reported above
      const p = page(name);
      const ours = dir === '' || /(?:^|\/)docs\/reference\/$/.test(dir);
      if (!ours || (p === null && dir === '' && m[2] !== undefined)) continue;
      const start = (m.index ?? 0) + m[0].indexOf(refs);
      for (const r of refs.matchAll(ONE_REF)) {
        const line = lineOf(text, start + (r.index ?? 0));
        const sections = [r[1] as string, ...(r[2] ? [r[2]] : [])];
        const topic = r[3];
        for (const section of sections) {
          let problem: string | undefined;
          if (p === null) problem = `docs/reference/${name} does not exist`;
          else if (!defines(p, section)) problem = `${name} has no §${section}`;
          else if (topic !== undefined && section === sections[0] && !hasTopic(p, section, topic)) problem = `${name} §${section} has no topic "${topic}"`;
          out.push({ file, line, page: name, section, ...(topic !== undefined ? { topic } : {}), ...(problem ? { problem } : {}) });
        }
      }
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

export function unresolvedCitations(folder: string, referenceDir: string): Citation[] {
  return findCitations(folder, referenceDir).filter((c) => c.problem !== undefined);
}

export function formatCitations(folder: string, cites: readonly Citation[]): string {
  return cites.map((c) => `${folder}/${c.file}:${c.line} ${c.problem}\n`).join('');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const [referenceDir, ...folders] = process.argv.slice(2);
  let found = 0;
  let total = 0;
  for (const folder of folders) {
    const all = findCitations(folder, resolve(referenceDir as string));
    const bad = all.filter((c) => c.problem !== undefined);
    total += all.length;
    found += bad.length;
    process.stdout.write(formatCitations(folder, bad));
  }
  process.stdout.write(`${total} citations, ${found} unresolved\n`);
  process.exitCode = found > 0 ? 1 : 0;
}
