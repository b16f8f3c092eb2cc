// The upstream images a local node runs in place of a registry's (root, buildah): Prometheus from the binary
// tools/bin pins, under the reference the viz chart names, running as nobody and printing its pinned version.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { exec, must } from '../src/exec.ts';
import { buildUpstreamImages, pinnedVersions } from '../src/upstream.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let built: string[] = [];
// Its own tag: the e2e loads prom/prometheus:<version> into its node while this file may run, and this file removes what it built.
const suffix = `-test-${randomBytes(3).toString('hex')}`;

afterAll(async () => {
  for (const ref of built) await exec('buildah', ['rmi', ref]);
});

describe('upstream images', () => {
  it("builds prom/prometheus at the pinned version: the chart's reference, its entrypoint, nobody, --version", async () => {
    const versions = await pinnedVersions(REPO_ROOT);
    const results = await buildUpstreamImages({ repoRoot: REPO_ROOT, tagSuffix: suffix });
    built = results.flatMap((r) => r.refs);
    const ref = `prom/prometheus:v${versions['PROMETHEUS_VERSION']}${suffix}`;
    expect(results).toEqual([{ refs: [ref], built: true }]);
    // Nothing changed: the second build finds the image built from the same binary and keeps it.
    expect(await buildUpstreamImages({ repoRoot: REPO_ROOT, tagSuffix: suffix })).toEqual([{ refs: [ref], built: false }]);
    const values = await readFile(`${REPO_ROOT}/helm/trellis-viz/values.yaml`, 'utf8');
    expect(/^prometheus:\n(?:[ #].*\n)*?\s+name: (\S+)\n(?:[ #].*\n)*?\s+version: (\S+)/m.exec(values)?.slice(1)).toEqual(['prom/prometheus', `v${versions['PROMETHEUS_VERSION']}`]);
    const config = (JSON.parse(await must('buildah', ['inspect', '--type', 'image', ref])) as { OCIv1: { config: { Entrypoint: string[]; User: string; WorkingDir: string } } }).OCIv1.config;
    expect(config).toMatchObject({ Entrypoint: ['/bin/prometheus'], User: '65534:65534', WorkingDir: '/prometheus' });
    const ctr = (await must('buildah', ['from', ref])).trim();
    try {
      const out = await must('buildah', ['run', '--isolation', 'chroot', ctr, '--', '/bin/prometheus', '--version']);
      expect(out).toContain(`prometheus, version ${versions['PROMETHEUS_VERSION']}`);
    } finally {
      await exec('buildah', ['rm', ctr]);
    }
  }, 300_000);
});
