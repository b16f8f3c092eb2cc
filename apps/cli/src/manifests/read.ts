// Reading manifests the way kubectl users hand them over: files, directories (recursively), or stdin ("-");
// each source may hold multi-document YAML, JSON, or a `List`.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TrellisError } from '@trellis/config';
import { parseAllDocuments } from 'yaml';

export class ManifestError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_MANIFEST', message);
  }
}

export interface Manifest {
  /** Where it came from, for error messages ("stdin", a path). */
  readonly source: string;
  readonly object: unknown;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(path)));
    else if (MANIFEST_FILE.test(e.name)) out.push(path);
  }
  return out;
}

/** Parses one source's text into its documents; empty documents (a trailing `---`) are dropped. */
export function parseManifests(text: string, source: string): Manifest[] {
  const trimmed = text.trimStart();
  // JSON input is parsed as JSON so that errors point at JSON, not at YAML's reading of it.
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const values = parseJsonStream(text);
    // Flow-style YAML also starts with { or [: when it is not JSON, the YAML parser has the last word.
    if (values) return values.flatMap((v) => (Array.isArray(v) ? v : [v])).map((object) => ({ source, object }));
  }
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return [];
  const out: Manifest[] = [];
  docs.forEach((doc, i) => {
    const err = doc.errors[0];
    const what = trimmed.startsWith('{') || trimmed.startsWith('[') ? 'is neither valid JSON nor valid YAML' : 'is not valid YAML';
    if (err) throw new ManifestError(`${source}: document ${i + 1} ${what}: ${err.message.split('\n')[0]}`);
    const object: unknown = doc.toJS();
    if (object !== null && object !== undefined) out.push({ source, object });
  });
  return out;
}

/**
 * Parses one or more JSON values written one after another (what `kubectl get -o json` pipelines and our own
 * `-o json` produce); undefined when the text is not such a stream.
 */
export function parseJsonStream(text: string): unknown[] | undefined {
  const out: unknown[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
    if (i >= text.length) break;
    const open = text[i];
    if (open !== '{' && open !== '[') return undefined;
    let depth = 0;
    let inString = false;
    let end = -1;
    for (let j = i; j < text.length; j++) {
      const ch = text[j];
      if (inString) {
        if (ch === '\\') j++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          end = j + 1;
          break;
        }
      }
    }
    if (end === -1) return undefined;
    try {
      out.push(JSON.parse(text.slice(i, end)));
    } catch {
      return undefined;
    }
    i = end;
  }
  return out;
}

/** Reads every source in order. `-` is stdin (read once). */
export async function readSources(sources: readonly string[], stdin: () => Promise<string>): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const src of sources) {
    if (src === '-') {
      out.push(...parseManifests(await stdin(), 'stdin'));
      continue;
    }
    let info;
    try {
      info = await stat(src);
    } catch {
      throw new ManifestError(`${src}: no such file or directory`);
    }
    const files = info.isDirectory() ? await filesUnder(src) : [src];
    for (const f of files) out.push(...parseManifests(await readFile(f, 'utf8'), f));
  }
  return out;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
