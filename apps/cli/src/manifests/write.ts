// Writing manifests back: a YAML stream (documents separated by ---) or JSON documents, one after another.
import { stringify } from 'yaml';

export type OutputFormat = 'yaml' | 'json';

export function formatManifests(objects: readonly unknown[], format: OutputFormat): string {
  if (format === 'json') return objects.map((o) => JSON.stringify(o, null, 2) + '\n').join('');
  // Long strings (the trust-anchor PEM) stay as block scalars rather than being folded at 80 columns.
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}
