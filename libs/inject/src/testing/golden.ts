// Golden-file comparison for tests: UPDATE_GOLDEN=1 rewrites the file instead of comparing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const updatingGolden = process.env['UPDATE_GOLDEN'] === '1';

/** Returns the golden file's parsed content (after rewriting it in update mode) for the caller to compare. */
export function golden(path: string, actual: unknown): unknown {
  const text = JSON.stringify(actual, null, 2) + '\n';
  if (updatingGolden) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  let stored: string;
  try {
    stored = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`golden file ${path} is missing; run the tests with UPDATE_GOLDEN=1 to create it`);
  }
  return JSON.parse(stored);
}
