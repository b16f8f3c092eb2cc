// TokenRequest and TokenReview against the real kube-apiserver: the identity service depends on exactly this.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig, requestToken, reviewToken } from '../src/index.ts';
import { createNamespace, resignToken } from './cluster-helpers.ts';

const AUDIENCE = 'identity.l5d.io';

describe('service-account tokens on the local API server', () => {
  const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
  let ns = '';
  let token = '';

  beforeAll(async () => {
    ns = await createNamespace(kc, 'tokens');
    await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'web' } } });
    token = await requestToken(kc, ns, 'web', { audiences: [AUDIENCE], expirationSeconds: 600 });
  });

  it('authenticates a requested token for its audience as the service account', async () => {
    const r = await reviewToken(kc, token, [AUDIENCE]);
    expect(r.authenticated).toBe(true);
    expect(r.username).toBe(`system:serviceaccount:${ns}:web`);
    expect(r.audiences).toEqual([AUDIENCE]);
  });

  it('does not authenticate the same token for another audience', async () => {
    const r = await reviewToken(kc, token, ['some-other-audience']);
    expect(r.authenticated).toBe(false);
    expect(r.error).toMatch(/audience|invalid/i);
  });

  it('does not authenticate an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = resignToken(inject('clusterDir'), token, (c) => {
      c['iat'] = past - 600;
      c['nbf'] = past - 600;
      c['exp'] = past;
    });
    const r = await reviewToken(kc, expired, [AUDIENCE]);
    expect(r.authenticated).toBe(false);
    expect(r.error).toMatch(/expired/i);
  });

  it('accepts a re-signed token with untouched claims, so the expiry test proves expiry and not a bad signature', async () => {
    const same = resignToken(inject('clusterDir'), token, (_claims) => undefined);
    expect((await reviewToken(kc, same, [AUDIENCE])).authenticated).toBe(true);
  });

  it('does not authenticate garbage', async () => {
    for (const junk of ['garbage', 'a.b.c', '', `${token.slice(0, -4)}AAAA`]) {
      const r = await reviewToken(kc, junk, [AUDIENCE]).catch((e: Error) => ({ authenticated: false, error: e.message }));
      expect(r.authenticated, junk).toBe(false);
    }
  });
});
