// Adds up the vitest JSON reports of every project with a test target and prints "N passed, N failed".
// Exits 1 when anything failed, when a project left no report, or when no test ran at all.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  success: boolean;
}

const projects = JSON.parse(execFileSync('nx', ['show', 'projects', '--with-target=test', '--json'], { encoding: 'utf8' })) as string[];
let passed = 0;
let failed = 0;
let skipped = 0;
const missing: string[] = [];
for (const name of projects) {
  const root = (JSON.parse(execFileSync('nx', ['show', 'project', name, '--json'], { encoding: 'utf8' })) as { root: string }).root;
  const file = join(root, '.test-results', 'vitest.json');
  if (!existsSync(file)) {
    missing.push(name);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  console.log(`${name.padEnd(32)} ${r.numPassedTests} passed, ${r.numFailedTests} failed${r.success ? '' : ' (suite failed)'}`);
  if (!r.success && r.numFailedTests === 0) failed++;
}
for (const m of missing) console.log(`${m.padEnd(32)} no test report (the run crashed or did not start)`);
failed += missing.length;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || skipped > 0 || passed === 0 ? 1 : 0;
