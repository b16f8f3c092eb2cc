import { once } from 'node:events';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { CertificateAuthority, createCsr, createIssuer, createTrustAnchor, encodeCertificates, generateKeyPair, parseCsr, privateKeyToPem } from '@trellis/pki';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeTokenReviewer } from './token-review.ts';

let tls: { cert: string; key: string; ca: string };
beforeAll(async () => {
  const root = await createTrustAnchor({ commonName: 'api-root' });
  const issuer = await createIssuer({ commonName: 'api-issuer', parent: root });
  const ca = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [root.certificate] });
  const keys = generateKeyPair();
  const leaf = ca.issue(parseCsr(await createCsr({ keys, dnsNames: ['kubernetes.local'] })), 'kubernetes.local', { lifetimeMs: 3_600_000, clockSkewMs: 0 });
  tls = { cert: encodeCertificates([leaf.der, issuer.certificate]), key: privateKeyToPem(keys.privateKey), ca: root.certificatePem };
});

interface Seen {
  readonly authorization: string | undefined;
  readonly body: { spec: { token: string; audiences: string[] } };
  readonly remotePort: number | undefined;
}

let server: Http2SecureServer | undefined;
let reviewer: KubeTokenReviewer | undefined;
afterEach(async () => {
  reviewer?.close();
  server?.close();
});

async function fakeApi(answer: (seen: Seen) => { status: number; body: string } | 'hang') {
  const seen: Seen[] = [];
  server = createSecureServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      expect([req.method, req.url]).toEqual(['POST', '/apis/authentication.k8s.io/v1/tokenreviews']);
      const s = { authorization: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString()) as Seen['body'], remotePort: req.socket.remotePort };
      seen.push(s);
      const a = answer(s);
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caData: Buffer.from(tls.ca).toString('base64'), tlsServerName: 'kubernetes.local', skipTLSVerify: false }],
    users: [{ name: 'u', token: 'the-bearer-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { kc, seen };
}

const ok = (username: string) => ({ status: 201, body: JSON.stringify({ kind: 'TokenReview', status: { authenticated: true, user: { username } } }) });

describe('KubeTokenReviewer', () => {
  it('posts TokenReviews with the audiences, authenticated as the kubeconfig user, over one HTTP/2 connection', async () => {
    const { kc, seen } = await fakeApi(() => ok('system:serviceaccount:ns:web'));
    reviewer = new KubeTokenReviewer(kc);
    const r = reviewer;
    const answers = await Promise.all(Array.from({ length: 5 }, () => r.review('proxy-token', ['identity.l5d.io'])));
    expect(answers).toEqual(Array(5).fill({ authenticated: true, username: 'system:serviceaccount:ns:web' }));
    expect(await r.review('proxy-token', ['identity.l5d.io'])).toEqual({ authenticated: true, username: 'system:serviceaccount:ns:web' });
    expect(seen.map((s) => s.body.spec)).toEqual(Array(6).fill({ token: 'proxy-token', audiences: ['identity.l5d.io'] }));
    expect(seen[0]?.authorization).toBe('Bearer the-bearer-token');
    expect(new Set(seen.map((s) => s.remotePort)).size).toBe(1);
  });

  it('dials a new connection after the API server drops the old one', async () => {
    const { kc, seen } = await fakeApi(() => ok('system:serviceaccount:ns:web'));
    const sessions: import('node:http2').ServerHttp2Session[] = [];
    server?.on('session', (s) => sessions.push(s));
    reviewer = new KubeTokenReviewer(kc);
    await reviewer.review('t', []);
    for (const s of sessions) s.destroy();
    await expect(reviewer.review('t', [])).resolves.toMatchObject({ authenticated: true });
    expect(new Set(seen.map((x) => x.remotePort)).size).toBe(2);
  });

  it('passes the API server reason for an invalid token on', async () => {
    const { kc } = await fakeApi(() => ({ status: 201, body: JSON.stringify({ status: { authenticated: false, error: '[invalid bearer token, token has expired]' } }) }));
    reviewer = new KubeTokenReviewer(kc);
    expect(await reviewer.review('t', ['identity.l5d.io'])).toEqual({ authenticated: false, error: '[invalid bearer token, token has expired]' });
  });

  it('fails with the status and the API message when the review cannot be made, never with the token', async () => {
    const { kc } = await fakeApi(() => ({ status: 403, body: JSON.stringify({ kind: 'Status', message: 'tokenreviews.authentication.k8s.io is forbidden: User "x" cannot create resource' }) }));
    reviewer = new KubeTokenReviewer(kc);
    const err = await reviewer.review('secret-token', []).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'TRELLIS_ERR_IDENTITY_TOKEN_REVIEW_FAILED', message: 'TokenReview failed: HTTP 403: tokenreviews.authentication.k8s.io is forbidden: User "x" cannot create resource' });
    expect((err as Error).message).not.toContain('secret-token');
  });

  it('fails on an answer that is not JSON', async () => {
    const { kc } = await fakeApi(() => ({ status: 201, body: '<html>' }));
    reviewer = new KubeTokenReviewer(kc);
    await expect(reviewer.review('t', [])).rejects.toThrow('TokenReview failed: the API server answered with invalid JSON');
  });

  it('gives up on an API server that does not answer', async () => {
    const { kc } = await fakeApi(() => 'hang');
    reviewer = new KubeTokenReviewer(kc, { timeoutMs: 200 });
    await expect(reviewer.review('t', [])).rejects.toThrow('TokenReview failed: no answer within 200 ms');
  });

  it('fails when the API server is unreachable', async () => {
    const { kc } = await fakeApi(() => ok('x'));
    server?.close();
    await once(server as Http2SecureServer, 'close');
    server = undefined;
    reviewer = new KubeTokenReviewer(kc);
    await expect(reviewer.review('t', [])).rejects.toThrow(/TokenReview failed: .*ECONNREFUSED/);
  });
});
