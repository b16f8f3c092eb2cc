#!/usr/bin/env node
// Writes helm/*/values.schema.json from the charts' values.yaml (see schema.ts); --check only compares, exit 1 on
// a difference (CI and the chart tests use it).
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { generateSchemas } from './chart-schemas.ts';
import { REPO_ROOT } from './helm.ts';

const check = process.argv.includes('--check');
let stale = 0;
for (const { path, text } of generateSchemas()) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing: stale
  }
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${relative(REPO_ROOT, path)} is out of date: run node tools/charts/src/gen-schema.ts\n`);
  } else {
    writeFileSync(path, text);
    process.stdout.write(`wrote ${relative(REPO_ROOT, path)}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
