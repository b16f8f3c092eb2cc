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
    try {
      const parsed: unknown = JSON.parse(text);
      return (Array.isArray(parsed) ? parsed : [parsed]).map((object) => ({ source, object }));
    } catch {
      // Flow-style YAML also starts with { or [: fall through to the YAML parser.
    }
  }
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return [];
  const out: Manifest[] = [];
  docs.forEach((doc, i) => {
    const err = doc.errors[0];
    if (err) throw new ManifestError(`${source}: document ${i + 1} is not valid YAML: ${err.message.split('\n')[0]}`);
    const object: unknown = doc.toJS();
    if (object !== null && object !== undefined) out.push({ source, object });
  });
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
