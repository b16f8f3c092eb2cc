// Linkerd's proxy image for a local node (root, buildah): linkerd2-proxy under the reference the injector renders,
// its identity entrypoint writing the key and CSR and then exec'ing the real proxy inside the image (which then
// reads its configuration from the environment, as in a pod), running as the proxy's uid 2102.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBase } from '../src/base.ts';
import { exec, must } from '../src/exec.ts';
import { LINKERD_PROXY_REF, buildLinkerdProxyImage } from '../src/linkerd-proxy.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const containers: string[] = [];
afterAll(async () => {
  for (const c of containers) await exec('buildah', ['rm', c]);
});

/** Runs the image's entrypoint in a working container as uid 2102 with `env`; its exit code and output. */
async function runEntrypoint(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const ctr = (await must('buildah', ['from', LINKERD_PROXY_REF])).trim();
  containers.push(ctr);
  const config = (JSON.parse(await must('buildah', ['inspect', '--type', 'image', LINKERD_PROXY_REF])) as { OCIv1: { config: { Entrypoint: string[] } } }).OCIv1.config;
  const r = await exec('buildah', ['run', '--isolation', 'chroot', '--user', '2102:2102', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ctr, '--', ...config.Entrypoint]);
  return { code: r.code, output: r.stdout + r.stderr };
}

describe("Linkerd's proxy image", () => {
  it('is linkerd2-proxy behind its identity entrypoint, as uid 2102, with linkerd-await beside it', async () => {
    const nodeVersion = (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/node/package.json'), 'utf8')) as { version: string }).version;
    const base = await ensureBase('node', join(REPO_ROOT, 'node_modules/node/bin/node'), nodeVersion, false);
    expect((await buildLinkerdProxyImage({ repoRoot: REPO_ROOT, baseImage: base.ref })).refs).toEqual(['cr.l5d.io/linkerd/proxy:edge-26.8.1']);
    const config = (JSON.parse(await must('buildah', ['inspect', '--type', 'image', LINKERD_PROXY_REF])) as { OCIv1: { config: { Entrypoint: string[]; User: string } } }).OCIv1.config;
    expect(config).toMatchObject({ Entrypoint: ['node', '/usr/lib/linkerd/proxy-entrypoint.js'], User: '2102:2102' });

    // Without its identity the entrypoint refuses, naming the variable.
    const bare = await runEntrypoint({});
    expect(bare.code).not.toBe(0);
    expect(bare.output).toContain('linkerd-proxy entrypoint: LINKERD2_PROXY_IDENTITY_LOCAL_NAME is not set');

    // With it, the key and CSR are written and the real proxy starts in its place: it reads the rest of its
    // configuration and stops at the first thing a pod's environment would have given it.
    const started = await runEntrypoint({ LINKERD2_PROXY_IDENTITY_DIR: '/tmp/identity', LINKERD2_PROXY_IDENTITY_LOCAL_NAME: 'web.emojivoto.serviceaccount.identity.trellis.cluster.local' });
    expect(started.output).toContain('Invalid configuration: no destination service configured');
    expect(started.code).toBe(64);

    const ctr = containers[0] as string;
    const awaitHook = await exec('buildah', ['run', '--isolation', 'chroot', ctr, '--', '/usr/lib/linkerd/linkerd-await', '--timeout=1s', '--port=1']);
    expect(awaitHook.code).not.toBe(0);
    expect(awaitHook.stdout + awaitHook.stderr).toMatch(/linkerd-await/);
  }, 300_000);
});
