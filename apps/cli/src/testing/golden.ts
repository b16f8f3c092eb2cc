// Golden text files for tests: UPDATE_GOLDEN=1 rewrites the file; otherwise returns its content to compare against.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function goldenText(path: string, actual: string): string {
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new Error(`golden file ${path} is missing; run the tests with UPDATE_GOLDEN=1 to create it`);
  }
}
