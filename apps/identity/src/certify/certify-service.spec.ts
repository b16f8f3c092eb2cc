import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { CertificateAuthority, createCsr, createIssuer, createTrustAnchor, generateKeyPair, verifyChain } from '@trellis/pki';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertifyService, type CertifyRequestInput } from './certify-service.ts';
import type { TokenReview, TokenReviewer } from './token-reviewer.ts';

const ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const TOKEN = Buffer.from('token-for-web');
const DAY = 86_400_000;

/** Answers reviews from a table keyed by token; records the audiences it was asked for. */
class FakeReviewer implements TokenReviewer {
  readonly audiences: string[][] = [];
  readonly answers: Record<string, TokenReview | Error>;
  constructor(answers: Record<string, TokenReview | Error>) {
    this.answers = answers;
  }
  async review(token: string, audiences: readonly string[]): Promise<TokenReview> {
    this.audiences.push([...audiences]);
    const a = this.answers[token] ?? { authenticated: false, error: 'unknown token' };
    if (a instanceof Error) throw a;
    return a;
  }
}

let authority: CertificateAuthority;
let reviewer: FakeReviewer;
let service: CertifyService;

beforeAll(async () => {
  const root = await createTrustAnchor({ commonName: 'root.trellis.cluster.local' });
  const issuer = await createIssuer({ commonName: 'identity.trellis.cluster.local', parent: root });
  authority = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [root.certificate] });
  reviewer = new FakeReviewer({
    'token-for-web': { authenticated: true, username: 'system:serviceaccount:emojivoto:web' },
    'token-for-voting': { authenticated: true, username: 'system:serviceaccount:emojivoto:voting' },
    'token-for-a-user': { authenticated: true, username: 'jane@example.com' },
    'token-for-a-node': { authenticated: true, username: 'system:node:worker-1' },
    'token-unauthenticated': { authenticated: false },
    'token-expired': { authenticated: false, error: '[invalid bearer token, service account token has expired]' },
  });
  service = new CertifyService({
    issuer: { current: () => authority },
    reviewer,
    controlPlaneNamespace: 'trellis',
    trustDomain: 'cluster.local',
    issuanceLifetimeMs: DAY,
    clockSkewMs: 20_000,
  });
});

const csr = (opts: Partial<Parameters<typeof createCsr>[0]> = {}) => createCsr({ keys: generateKeyPair(), dnsNames: [ID], ...opts });
const request = async (over: Partial<CertifyRequestInput> = {}): Promise<CertifyRequestInput> => ({ identity: ID, token: TOKEN, csr: await csr(), ...over });
const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message };
  }
  throw new Error('expected a failure');
};

describe('CertifyService', () => {
  it('issues a 24h leaf for the service account that owns the identity, with the issuer as chain', async () => {
    const before = Date.now();
    const r = await service.certify(await request());
    const leaf = new X509Certificate(r.leaf);
    expect(leaf.subjectAltName).toBe(`DNS:${ID}`);
    expect(r.validUntil).toEqual(leaf.validToDate);
    expect(Math.abs(leaf.validToDate.getTime() - before - DAY - 20_000)).toBeLessThan(2000);
    expect(r.chain).toEqual(authority.chain);
    expect(r.serviceAccount).toEqual({ namespace: 'emojivoto', name: 'web' });
    expect(verifyChain(r.leaf, r.chain, authority.trustAnchors).path).toHaveLength(3);
    expect(reviewer.audiences.at(-1)).toEqual(['identity.l5d.io']);
  });

  it('accepts a token file with a trailing newline', async () => {
    await expect(service.certify(await request({ token: Buffer.from('token-for-web\n') }))).resolves.toBeDefined();
  });

  it('is unavailable until an issuer is loaded', async () => {
    const idle = new CertifyService({ issuer: { current: () => undefined }, reviewer, controlPlaneNamespace: 'trellis', trustDomain: 'cluster.local', issuanceLifetimeMs: DAY, clockSkewMs: 0 });
    expect(await failure(idle.certify(await request()))).toEqual({ code: 'TRELLIS_ERR_IDENTITY_ISSUER_NOT_READY', message: 'cert issuer not ready yet' });
  });

  it('is unavailable once the loaded issuer has expired', async () => {
    const later = new CertifyService({ issuer: { current: () => authority }, reviewer, controlPlaneNamespace: 'trellis', trustDomain: 'cluster.local', issuanceLifetimeMs: DAY, clockSkewMs: 0, now: () => new Date(authority.notAfter.getTime() + 1000) });
    expect(await failure(later.certify(await request()))).toMatchObject({ code: 'TRELLIS_ERR_IDENTITY_ISSUER_NOT_READY', message: expect.stringContaining('expires at') });
  });

  it.each([
    ['an empty identity', { identity: '' }, 'missing identity'],
    ['an empty token', { token: Buffer.alloc(0) }, 'missing token'],
    ['an empty CSR', { csr: Buffer.alloc(0) }, 'missing certificate signing request'],
    ['a garbage CSR', { csr: Buffer.from('not a csr at all') }, 'certificate signing request is malformed: expected tag 0x30, found 0x6e'],
  ])('rejects %s as an invalid request', async (_name, over, message) => {
    expect(await failure(service.certify(await request(over)))).toEqual({ code: 'TRELLIS_ERR_IDENTITY_INVALID_REQUEST', message });
  });

  it('rejects a CSR whose signature does not verify', async () => {
    const der = Buffer.from(await csr());
    der.writeUInt8((der.at(-5) ?? 0) ^ 0x01, der.length - 5);
    expect(await failure(service.certify(await request({ csr: der })))).toMatchObject({ code: 'TRELLIS_ERR_IDENTITY_INVALID_REQUEST', message: expect.stringMatching(/signature|malformed/) });
  });

  it.each([
    ['names another service account', { dnsNames: ['voting.emojivoto.serviceaccount.identity.trellis.cluster.local'] }, /CSR names "voting\.emojivoto/],
    ['carries two DNS SANs', { dnsNames: [ID, 'other.example'] }, /exactly one DNS name, found 2/],
    ['carries no SAN', { dnsNames: [], commonName: ID }, /exactly one DNS name, found 0/],
    ['carries an IP SAN', { ipAddresses: ['10.1.2.3'] }, /non-DNS subject alternative names/],
    ['carries a URI SAN', { uris: ['spiffe://cluster.local/ns/emojivoto/sa/web'] }, /non-DNS subject alternative names/],
    ['has another common name', { commonName: 'someone-else' }, /common name "someone-else"/],
    ['holds an RSA key', { keys: generateKeyPairSync('rsa', { modulusLength: 2048 }) }, /ECDSA P-256 public key, found rsa/],
    ['holds a P-384 key', { keys: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }) }, /ECDSA P-256 public key, found ec secp384r1/],
  ])('refuses a CSR that %s', async (_name, opts, message) => {
    expect(await failure(service.certify(await request({ csr: await csr(opts) })))).toMatchObject({ code: 'TRELLIS_ERR_IDENTITY_CSR_REFUSED', message: expect.stringMatching(message) });
  });

  it('rejects a token the API server calls invalid, passing its reason on', async () => {
    expect(await failure(service.certify(await request({ token: Buffer.from('token-expired') })))).toEqual({
      code: 'TRELLIS_ERR_IDENTITY_INVALID_TOKEN',
      message: 'invalid token: [invalid bearer token, service account token has expired]',
    });
  });

  it('refuses a token that is not authenticated', async () => {
    expect(await failure(service.certify(await request({ token: Buffer.from('token-unauthenticated') })))).toEqual({
      code: 'TRELLIS_ERR_IDENTITY_UNAUTHENTICATED',
      message: 'authentication token could not be authenticated',
    });
  });

  it('refuses the token of another service account for this identity', async () => {
    expect(await failure(service.certify(await request({ token: Buffer.from('token-for-voting') })))).toEqual({
      code: 'TRELLIS_ERR_IDENTITY_MISMATCH',
      message: `requested identity did not match provided token: requested "${ID}", token is for "voting.emojivoto.serviceaccount.identity.trellis.cluster.local"`,
    });
  });

  it.each([['a user', 'token-for-a-user'], ['a node', 'token-for-a-node']])('rejects a token that authenticates %s', async (_n, token) => {
    expect(await failure(service.certify(await request({ token: Buffer.from(token) })))).toMatchObject({ code: 'TRELLIS_ERR_IDENTITY_NOT_SERVICE_ACCOUNT' });
  });

  it('passes review failures through for the boundary to map', async () => {
    const broken = new CertifyService({ issuer: { current: () => authority }, reviewer: new FakeReviewer({ 'token-for-web': new Error('ECONNREFUSED') }), controlPlaneNamespace: 'trellis', trustDomain: 'cluster.local', issuanceLifetimeMs: DAY, clockSkewMs: 0 });
    await expect(broken.certify(await request())).rejects.toThrow('ECONNREFUSED');
  });

  it('never puts the token in an error message', async () => {
    const secret = 'eyJhbGciOiJSUzI1NiJ9.super-secret-claims.signature';
    const f = await failure(service.certify(await request({ token: Buffer.from(secret) })));
    expect(f.message).not.toContain('super-secret');
  });
});
