// The checked-in generated code must be exactly what buf and ts-proto produce from the .proto files.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('the checked-in src/gen matches a fresh generation from proto/', () => {
  const run = spawnSync('bash', [join(import.meta.dirname, '../scripts/check-generated.sh')], { encoding: 'utf8' });
  expect(run.stderr + run.stdout).toMatch(/libs\/proto\/src\/gen is current/);
  expect(run.status).toBe(0);
});
