import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createIssuer, createTrustAnchor } from '@trellis/pki';
import { chainProblem, DAY_MS, expiresSoon, outsideValidity, unsupportedAlgorithm } from './certs.ts';

const now = new Date('2026-11-23T00:00:00Z');
const at = (days: number) => new Date(now.getTime() + days * DAY_MS);
const cert = (der: Uint8Array) => new X509Certificate(der);

describe('certificate judgements', () => {
  it('accepts a fresh P-256 issuer signed by its anchor', async () => {
    const anchor = await createTrustAnchor({ commonName: 'root.trellis.cluster.local', notBefore: at(-1), notAfter: at(3650) });
    const issuer = await createIssuer({ commonName: 'identity.trellis.cluster.local', parent: anchor, notBefore: at(-1), notAfter: at(365) });
    const c = cert(issuer.certificate);
    expect(unsupportedAlgorithm(c)).toBeUndefined();
    expect(outsideValidity(c, now)).toBeUndefined();
    expect(expiresSoon(c, now)).toBeUndefined();
    expect(chainProblem(c, [], [cert(anchor.certificate)], now)).toBeUndefined();
  });

  it('says when a certificate expires within 60 days, and when it has expired', async () => {
    const soon = cert((await createTrustAnchor({ commonName: 'soon', notBefore: at(-10), notAfter: at(30) })).certificate);
    expect(expiresSoon(soon, now)).toBe(`"soon" expires at ${at(30).toISOString()} (in 30 days)`);
    const old = cert((await createTrustAnchor({ commonName: 'old', notBefore: at(-100), notAfter: at(-1) })).certificate);
    expect(outsideValidity(old, now)).toBe(`"old" expired at ${at(-1).toISOString()}`);
    const future = cert((await createTrustAnchor({ commonName: 'future', notBefore: at(2), notAfter: at(100) })).certificate);
    expect(outsideValidity(future, now)).toBe(`"future" is not valid before ${at(2).toISOString()}`);
  });

  it('names the anchor an issuer does not chain to', async () => {
    const anchor = await createTrustAnchor({ commonName: 'root-a', notBefore: at(-1), notAfter: at(3650) });
    const other = await createTrustAnchor({ commonName: 'root-b', notBefore: at(-1), notAfter: at(3650) });
    const issuer = await createIssuer({ commonName: 'identity.trellis.cluster.local', parent: other, notBefore: at(-1), notAfter: at(365) });
    expect(chainProblem(cert(issuer.certificate), [], [cert(anchor.certificate)], now)).toMatch(/"identity.trellis.cluster.local" does not chain to any of the 1 trust anchor/);
  });
});
