#!/usr/bin/env node
// trellis-images: builds the component images with buildah, runs each once, and pushes them when a registry and
// credentials are configured. By default only the images of projects nx reports as affected.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, VERSION, runCommand } from '@trellis/config';
import { ensureBase } from './base.ts';
import { buildImage } from './build.ts';
import type { Built } from './cache.ts';
import { buildDemoImages, demoVersion } from './demo.ts';
import { StepFailedError, must } from './exec.ts';
import { IMAGES, imageSpec, type BaseFlavor } from './images.ts';
import { pushTarget, registryHost, remoteRef, selectApps, tagsFor } from './plan.ts';
import { buildLinkerdProxyImage } from './linkerd-proxy.ts';
import { buildPeersImage } from './peers.ts';
import { smoke } from './smoke.ts';
import { buildUpstreamImages } from './upstream.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NX = join(REPO_ROOT, 'node_modules/.bin/nx');
const say = (line: string) => process.stderr.write(`trellis-images: ${line}\n`);

try {
  await runCommand(
  {
    name: 'trellis-images',
    summary: 'trellis-images: builds the Trellis component images with buildah, runs each once, pushes them if a registry is configured.',
    flags: {
      all: { type: 'boolean', description: 'build every image, not only the affected ones', default: false },
      list: { type: 'boolean', description: 'print the images that would be built as a JSON list and stop (CI matrix)', default: false },
      base: { type: 'string', description: 'git ref nx compares against to find affected projects (env NX_BASE)', value: 'REF', default: process.env['NX_BASE'] ?? 'HEAD~1' },
      head: { type: 'string', description: 'git ref of the change (env NX_HEAD)', value: 'REF', default: process.env['NX_HEAD'] ?? 'HEAD' },
      only: { type: 'list', description: `build at most these images (${IMAGES.map((i) => i.app).join(', ')})`, value: 'APPS', default: [] },
      'base-image': { type: 'string', description: 'base image for every Dockerfile (e.g. node:24-slim); empty assembles a local one from node_modules/node', value: 'IMAGE', default: '' },
      'rebuild-base': { type: 'boolean', description: 'assemble the local base again even if it exists', default: false },
      bundle: { type: 'boolean', description: 'run the esbuild bundles first (nx run-many -t build)', default: true },
      demo: { type: 'boolean', description: 'also build the demo app\'s images (trellis/demo-<app>, tools/demo/Dockerfile); never pushed', default: false },
      peers: { type: 'boolean', description: 'also build the end-to-end tests\' peers: their apps (trellis/e2e-peers, tools/e2e/src/peers) and Linkerd\'s proxy (cr.l5d.io/linkerd/proxy, tools/linkerd-proxy); never pushed', default: false },
      upstream: { type: 'boolean', description: 'also build the upstream servers the charts run (prom/prometheus) from the binaries tools/bin pins, for a node no registry serves; never pushed', default: false },
      smoke: { type: 'boolean', description: 'run every built image once (--version and its own checks)', default: true },
      isolation: { type: 'string', description: 'buildah isolation for RUN steps and smoke runs (env BUILDAH_ISOLATION)', value: 'KIND', default: process.env['BUILDAH_ISOLATION'] ?? 'chroot' },
    },
    epilog:
      'Pushing: set TRELLIS_IMAGE_REGISTRY (e.g. ghcr.io/acme), TRELLIS_REGISTRY_USERNAME and TRELLIS_REGISTRY_PASSWORD;\n' +
      'images go to <registry>/trellis/<app>:<version> and :<version>-<short sha>. Without them nothing is pushed.',
  },
  process.argv.slice(2),
  async ({ values }) => {
    const str = (k: string) => values[k] as string;
    const target = pushTarget(process.env);
    const isolation = str('isolation');
    if (!['chroot', 'oci', 'rootless'].includes(isolation)) throw new ConfigError(`--isolation: expected chroot, oci or rootless, got ${JSON.stringify(isolation)}`);

    let apps: string[];
    if (values['all']) apps = selectApps(['@trellis/images'], values['only'] as string[]);
    else {
      const out = await must(NX, ['show', 'projects', '--affected', `--base=${str('base')}`, `--head=${str('head')}`, '--json'], { cwd: REPO_ROOT });
      apps = selectApps(JSON.parse(out) as string[], values['only'] as string[]);
    }
    if (values['list']) {
      process.stdout.write(`${JSON.stringify(apps)}\n`);
      return;
    }
    if (apps.length === 0 && !values['demo'] && !values['upstream'] && !values['peers']) {
      say(`no image is affected between ${str('base')} and ${str('head')}; nothing to build`);
      return;
    }
    const commit = (await must('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT })).trim();
    const tags = tagsFor(VERSION, commit);
    say(`building ${apps.join(', ')} as ${tags.join(', ')}`);

    if (values['bundle'] && apps.length > 0) await must(NX, ['run-many', '-t', 'build', `--projects=${apps.map((a) => `@trellis/${a}`).join(',')}`, '--output-style=static'], { cwd: REPO_ROOT });

    const bases = new Map<BaseFlavor, string>();
    if (!str('base-image')) {
      const nodeBinary = join(REPO_ROOT, 'node_modules/node/bin/node');
      const nodeVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/node/package.json'), 'utf8')) as { version: string }).version;
      for (const flavor of new Set([...apps.map((a) => imageSpec(a).base), ...(values['demo'] || values['peers'] ? ['node' as const] : [])])) {
        const base = await ensureBase(flavor, nodeBinary, nodeVersion, values['rebuild-base'] as boolean);
        say(`${base.built ? 'assembled' : 'reusing'} base ${base.ref}`);
        bases.set(flavor, base.ref);
      }
    }

    let failed = 0;
    const built: string[] = [];
    // What each step made, for the closing line: a run with nothing changed says it built nothing.
    const fresh: string[] = [];
    const unchanged: string[] = [];
    const report = (results: readonly Built[], t0: number) => {
      for (const r of results) (r.built ? fresh : unchanged).push(r.refs[0]!);
      const made = results.filter((r) => r.built).map((r) => r.refs.join(' '));
      const kept = results.filter((r) => !r.built).map((r) => r.refs[0]!);
      if (made.length > 0) say(`built ${made.join(' ')} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      if (kept.length > 0) say(`unchanged (built from the same inputs), not rebuilt: ${kept.join(' ')}`);
    };
    for (const app of apps) {
      const spec = imageSpec(app);
      const baseImage = str('base-image') || (bases.get(spec.base) as string);
      const t0 = Date.now();
      const result = await buildImage({ repoRoot: REPO_ROOT, app, baseImage, version: VERSION, commit, tags, isolation });
      report([result], t0);
      built.push(...result.refs);
      if (!values['smoke']) continue;
      for (const r of await smoke(result.refs[0] as string, spec, VERSION, isolation)) {
        say(`  ${r.ok ? 'ok  ' : 'FAIL'} ${app}: ${r.check}${r.ok ? '' : `\n${r.output}`}`);
        if (!r.ok) failed++;
      }
    }
    if (failed > 0) throw new ConfigError(`${failed} smoke check(s) failed; not pushing`);
    // Images only a local node runs: never pushed.
    const local: string[] = [];
    if (values['demo']) {
      const t0 = Date.now();
      const version = await demoVersion(REPO_ROOT);
      const results = await buildDemoImages({ repoRoot: REPO_ROOT, baseImage: str('base-image') || (bases.get('node') as string), version, commit, isolation });
      report(results, t0);
      local.push(...results.flatMap((r) => r.refs));
    }

    if (values['peers']) {
      const baseImage = str('base-image') || (bases.get('node') as string);
      for (const step of [() => buildPeersImage({ repoRoot: REPO_ROOT, baseImage, version: VERSION }), () => buildLinkerdProxyImage({ repoRoot: REPO_ROOT, baseImage })]) {
        const t0 = Date.now();
        const result = await step();
        report([result], t0);
        local.push(...result.refs);
      }
    }

    if (values['upstream']) {
      const t0 = Date.now();
      const results = await buildUpstreamImages({ repoRoot: REPO_ROOT });
      report(results, t0);
      local.push(...results.flatMap((r) => r.refs));
    }
    say(fresh.length === 0 ? `nothing to build: all ${unchanged.length} image(s) unchanged` : `built ${fresh.length} image(s), ${unchanged.length} unchanged`);

    if (!target) say('not pushing: TRELLIS_IMAGE_REGISTRY and credentials are not set');
    else {
      await must('buildah', ['login', '--username', target.username, '--password-stdin', registryHost(target.registry)], { stdin: target.password });
      for (const app of apps) {
        for (const tag of tags) {
          const remote = remoteRef(target, app, tag);
          await must('buildah', ['push', `trellis/${app}:${tag}`, `docker://${remote}`]);
          say(`pushed ${remote}`);
        }
      }
    }
    process.stdout.write(`${[...built, ...local].join('\n')}\n`);
  },
  );
} catch (err) {
  // A failed build step is reported as one message, not a stack trace.
  if (!(err instanceof StepFailedError)) throw err;
  say(err.message);
  process.exitCode = 1;
}
