// Shared vitest settings for every project: where tests live, and the global setup that starts the
// local kube-apiserver for projects that have *.cluster.spec.ts files.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const clusterSetup = fileURLToPath(new URL('./tools/cluster/src/vitest-global-setup.ts', import.meta.url));

export function projectConfig(root: string) {
  return defineConfig({
    root,
    test: {
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      globalSetup: [clusterSetup],
      testTimeout: 30_000,
      hookTimeout: 120_000,
      pool: 'forks',
      reporters: process.env['CI'] ? ['default'] : ['default'],
    },
  });
}
