// Vitest global setup: for a project that has *.cluster.spec.ts files, start one local API server for the
// whole run and hand its kubeconfig to the tests (`inject('kubeconfig')`). TRELLIS_KUBECONFIG reuses a
// cluster that is already up (the test script starts one for the whole suite).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { globSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { down, up } from './control-plane.ts';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const root = project.config.root;
  const clusterTests = globSync(['src/**/*.cluster.spec.ts', 'test/**/*.cluster.spec.ts'], { cwd: root });
  if (clusterTests.length === 0) return undefined;
  const shared = process.env['TRELLIS_KUBECONFIG'];
  if (shared) {
    project.provide('kubeconfig', shared);
    project.provide('clusterDir', process.env['TRELLIS_CLUSTER_DIR'] ?? '');
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'trellis-test-cluster-'));
  const state = await up(dir, { controllers: true });
  project.provide('kubeconfig', state.kubeconfig);
  project.provide('clusterDir', dir);
  return async () => {
    await down(dir);
  };
}
