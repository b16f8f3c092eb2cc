// Writes helm/trellis-viz/dashboards/<uid>.json from src/dashboards.ts; `--check` only reports stale files (exit 1).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { dashboardFiles } from './dashboard-files.ts';
import { REPO_ROOT } from './helm.ts';

const check = process.argv.includes('--check');
let stale = 0;
for (const { path, text } of dashboardFiles()) {
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing: stale
  }
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${relative(REPO_ROOT, path)} is out of date: run node tools/charts/src/gen-dashboards.ts\n`);
  } else {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    process.stdout.write(`wrote ${relative(REPO_ROOT, path)}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
