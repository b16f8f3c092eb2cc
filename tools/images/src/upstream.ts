// Images of the upstream servers Trellis' charts run (Prometheus for the viz extension), for a local node that no
// registry serves: each is the binary tools/bin pins (built from its Go module with CGO_ENABLED=0, so static), alone
// on an empty root, under the reference the chart names, so the chart installs unchanged.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputsHash, type Built } from './cache.ts';
import { must } from './exec.ts';
import { commitImage } from './working-container.ts';

export interface UpstreamImage {
  /** The tools/bin/ensure tool whose binary the image runs. */
  readonly tool: string;
  /** The image reference the chart uses (its default values). */
  readonly ref: (versions: Readonly<Record<string, string>>) => string;
  /** Where the binary goes; the entrypoint. */
  readonly path: string;
  readonly user: string;
  readonly workdir: string;
}

export const UPSTREAM_IMAGES: readonly UpstreamImage[] = [
  // helm/trellis-viz values: prometheus.image prom/prometheus, version v<PROMETHEUS_VERSION>; upstream runs as nobody.
  { tool: 'prometheus', ref: (v) => `prom/prometheus:v${v['PROMETHEUS_VERSION']}`, path: '/bin/prometheus', user: '65534:65534', workdir: '/prometheus' },
];

/** tools/bin/versions.env as a map. */
export async function pinnedVersions(repoRoot: string): Promise<Record<string, string>> {
  const text = await readFile(join(repoRoot, 'tools/bin/versions.env'), 'utf8');
  return Object.fromEntries([...text.matchAll(/^([A-Z0-9_]+)=(\S*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/**
 * Builds each upstream image from its pinned binary (unless built from the same binary and recipe already). `tagSuffix` gives a build its own tags
 * (a test that removes what it built must never remove the reference a concurrent cluster load is reading).
 */
export async function buildUpstreamImages(o: { repoRoot: string; images?: readonly UpstreamImage[]; tagSuffix?: string }): Promise<Built[]> {
  const versions = await pinnedVersions(o.repoRoot);
  const results: Built[] = [];
  for (const image of o.images ?? UPSTREAM_IMAGES) {
    const binary = (await must(join(o.repoRoot, 'tools/bin/ensure'), [image.tool])).trim();
    const ref = `${image.ref(versions)}${o.tagSuffix ?? ''}`;
    const config = [
      '--entrypoint', JSON.stringify([image.path]),
      '--cmd', '',
      '--user', image.user,
      '--workingdir', image.workdir,
      '--label', `org.opencontainers.image.description=${image.tool} ${ref.split(':').at(-1)} built from its Go module by tools/bin for a local node`,
    ];
    const inputs = (await new InputsHash().path('binary', binary)).value('image', JSON.stringify({ path: image.path, user: image.user, workdir: image.workdir, config })).digest();
    const built = await commitImage('scratch', ref, async (ctr) => {
      await must('buildah', ['copy', '--chmod', '0755', ctr, binary, image.path]);
      const empty = await mkdtemp(join(tmpdir(), 'trellis-upstream-'));
      await must('buildah', ['copy', '--chown', image.user, ctr, empty, image.workdir]).finally(() => rm(empty, { recursive: true, force: true }));
      await must('buildah', ['config', ...config, ctr]);
    }, inputs);
    results.push({ refs: [ref], built });
  }
  return results;
}
