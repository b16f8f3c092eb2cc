import { describe, expect, it } from 'vitest';
import { containerArgv, imageEntrypoint } from './images.ts';

const opts = { repoRoot: '/repo', node: '/repo/node', exists: (p: string) => p === '/repo/dist/apps/proxy/main.js' };

describe('the image table', () => {
  it('maps trellis/<component> to its built bundle', () => {
    expect(imageEntrypoint('trellis/proxy:0.1.0', opts)).toEqual({ ok: true, argv: ['/repo/node', '/repo/dist/apps/proxy/main.js'] });
    expect(imageEntrypoint('docker.io/trellis/proxy@sha256:abc', opts)).toMatchObject({ ok: true });
  });
  it('says which build is missing for an unbuilt component', () => {
    expect(imageEntrypoint('trellis/identity:0.1.0', opts)).toEqual({
      ok: false,
      reason: 'ErrImageNotBuilt',
      message: expect.stringContaining('nx run @trellis/identity:build'),
    });
  });
  it('maps demo images to the demo apps', () => {
    expect(imageEntrypoint('trellis/demo-vote-bot:0.1.0', opts)).toEqual({ ok: true, argv: ['/repo/node', '/repo/tools/demo/src/vote-bot/main.ts'] });
    expect(imageEntrypoint('trellis/demo-nope:1', opts)).toMatchObject({ ok: false, reason: 'ErrImageNotMapped' });
  });
  it("maps Linkerd's proxy image to its entrypoint, which execs the pinned linkerd2-proxy", () => {
    expect(imageEntrypoint('cr.l5d.io/linkerd/proxy:edge-26.8.1', opts)).toEqual({ ok: true, argv: ['/repo/node', '/repo/tools/linkerd-proxy/src/main.ts'] });
    expect(imageEntrypoint('cr.l5d.io/linkerd/proxy-init:v2', opts)).toMatchObject({ ok: false, reason: 'ErrImageNotMapped' });
  });
  it('refuses an unknown image with a clear reason', () => {
    expect(imageEntrypoint('nginx:1.27', opts)).toMatchObject({ ok: false, reason: 'ErrImageNotMapped', message: expect.stringContaining('nginx:1.27') });
  });
  it('applies command and args as Docker does', () => {
    expect(containerArgv('trellis/proxy:1', undefined, ['--x'], opts)).toEqual({ ok: true, argv: ['/repo/node', '/repo/dist/apps/proxy/main.js', '--x'] });
    expect(containerArgv('busybox:1.36', ['sh', '-c'], ['sleep 1'], opts)).toEqual({ ok: true, argv: ['sh', '-c', 'sleep 1'] });
    expect(containerArgv('busybox', undefined, undefined, opts)).toMatchObject({ ok: false, reason: 'CreateContainerConfigError' });
  });
});
