// Adds up the vitest JSON reports of every project that has tests (a vitest.config.ts: that is what gives a
// project its inferred test target) and prints "N passed, N failed". Exits 1 when anything failed, when a
// project left no report or ran no test, or when nothing ran at all.
import { existsSync, globSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  success: boolean;
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const config of globSync('{apps,libs,tools}/*/vitest.config.ts').sort()) {
  const root = dirname(config);
  const name = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string }).name;
  const file = join(root, '.test-results', 'vitest.json');
  if (!existsSync(file)) {
    console.log(`${name.padEnd(32)} no test report (the run crashed or did not start)`);
    failed++;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  const note = r.numPassedTests + r.numFailedTests === 0 ? ' (no tests ran)' : r.success ? '' : ' (suite failed)';
  console.log(`${name.padEnd(32)} ${r.numPassedTests} passed, ${r.numFailedTests} failed${note}`);
  if (!r.success && r.numFailedTests === 0) failed++;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || skipped > 0 || passed === 0 ? 1 : 0;
