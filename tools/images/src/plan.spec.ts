import { describe, expect, it } from 'vitest';
import { pushTarget, registryHost, remoteRef, selectApps, tagsFor } from './plan.ts';

describe('selectApps', () => {
  it('builds the apps nx reports as affected, in catalogue order', () => {
    expect(selectApps(['@trellis/proxy', '@trellis/pki', '@trellis/identity'])).toEqual(['identity', 'proxy']);
  });

  it('builds nothing when no app is affected', () => {
    expect(selectApps(['@trellis/charts', '@trellis/config'])).toEqual([]);
  });

  it('builds every image when the image tooling changed', () => {
    expect(selectApps(['@trellis/images'])).toEqual(['identity', 'destination', 'proxy-injector', 'metrics-api', 'tap', 'web', 'proxy', 'proxy-init', 'cni-plugin', 'cli']);
  });

  it('narrows to --only and rejects names that are not images', () => {
    expect(selectApps(['@trellis/images'], ['cli'])).toEqual(['cli']);
    expect(selectApps(['@trellis/proxy'], ['cli'])).toEqual([]);
    expect(() => selectApps([], ['linkerd'])).toThrow(/no image named "linkerd"/);
  });
});

describe('tagsFor', () => {
  it('tags the release version and the version with the short commit', () => {
    expect(tagsFor('0.1.0', 'b755d26a1f0e9c3d2b1a')).toEqual(['0.1.0', '0.1.0-b755d26']);
  });

  it('refuses something that is not a commit id', () => {
    expect(() => tagsFor('0.1.0', 'main')).toThrow(/not a git commit id/);
  });
});

describe('pushTarget', () => {
  it('is a local build when nothing is configured', () => {
    expect(pushTarget({})).toBeUndefined();
  });

  it('pushes when registry and credentials are all set', () => {
    const t = pushTarget({ TRELLIS_IMAGE_REGISTRY: 'ghcr.io/acme/', TRELLIS_REGISTRY_USERNAME: 'bot', TRELLIS_REGISTRY_PASSWORD: 's3cret' });
    expect(t).toEqual({ registry: 'ghcr.io/acme', username: 'bot', password: 's3cret' });
    expect(remoteRef(t as NonNullable<typeof t>, 'proxy', '0.1.0')).toBe('ghcr.io/acme/trellis/proxy:0.1.0');
    expect(registryHost(t?.registry ?? "")).toBe('ghcr.io');
  });

  it('fails on half a configuration instead of silently not pushing', () => {
    expect(() => pushTarget({ TRELLIS_IMAGE_REGISTRY: 'ghcr.io/acme' })).toThrow(/TRELLIS_REGISTRY_USERNAME or TRELLIS_REGISTRY_PASSWORD is empty/);
    expect(() => pushTarget({ TRELLIS_REGISTRY_USERNAME: 'bot', TRELLIS_REGISTRY_PASSWORD: 'x' })).toThrow(/TRELLIS_IMAGE_REGISTRY is empty/);
  });
});
