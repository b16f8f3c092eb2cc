import { describe, expect, it } from 'vitest';
import { createIssuer, createTrustAnchor } from './generate.ts';
import { verifyChain } from './verify.ts';

const HOUR = 3_600_000;

describe('verifyChain', () => {
  it('accepts an issuer signed by an anchor and reports the earliest expiry on the path', async () => {
    const now = new Date();
    const root = await createTrustAnchor({ commonName: 'root', notBefore: now, notAfter: new Date(now.getTime() + 100 * HOUR) });
    const issuer = await createIssuer({ commonName: 'issuer', parent: root, notBefore: now, notAfter: new Date(now.getTime() + 10 * HOUR) });
    const v = verifyChain(issuer.certificate, [], [root.certificate]);
    expect(v.path).toHaveLength(2);
    expect(v.notAfter.getTime()).toBe(Math.floor((now.getTime() + 10 * HOUR) / 1000) * 1000);
  });

  it('finds the path through intermediates given in any order, picking the right anchor from a bundle', async () => {
    const other = await createTrustAnchor({ commonName: 'other root' });
    const root = await createTrustAnchor({ commonName: 'root' });
    const mid = await createIssuer({ commonName: 'mid', parent: root });
    const issuer = await createIssuer({ commonName: 'issuer', parent: mid });
    const v = verifyChain(issuer.certificate, [other.certificate, mid.certificate], [other.certificate, root.certificate]);
    expect(v.path.map((c) => c.subject)).toEqual(['CN=issuer', 'CN=mid', 'CN=root']);
  });

  it('accepts a certificate that is itself a trust anchor', async () => {
    const root = await createTrustAnchor({ commonName: 'root' });
    expect(verifyChain(root.certificate, [], [root.certificate]).path).toHaveLength(1);
  });

  it('refuses a certificate from another root', async () => {
    const root = await createTrustAnchor({ commonName: 'root' });
    const stranger = await createTrustAnchor({ commonName: 'stranger' });
    const issuer = await createIssuer({ commonName: 'issuer', parent: stranger });
    expect(() => verifyChain(issuer.certificate, [], [root.certificate])).toThrow('certificate "issuer" does not chain to any of the 1 trust anchor(s)');
  });

  it('refuses a root impersonation: same subject name, different key', async () => {
    const root = await createTrustAnchor({ commonName: 'root' });
    const fake = await createTrustAnchor({ commonName: 'root' });
    const issuer = await createIssuer({ commonName: 'issuer', parent: fake });
    expect(() => verifyChain(issuer.certificate, [], [root.certificate])).toThrow(/does not chain/);
  });

  it('refuses an expired certificate and one not yet valid', async () => {
    const root = await createTrustAnchor({ commonName: 'root' });
    const past = new Date(Date.now() - 10 * HOUR);
    const expired = await createIssuer({ commonName: 'old', parent: root, notBefore: past, notAfter: new Date(past.getTime() + HOUR) });
    expect(() => verifyChain(expired.certificate, [], [root.certificate])).toThrow(/certificate "old" expired at/);
    const future = new Date(Date.now() + 10 * HOUR);
    const early = await createIssuer({ commonName: 'early', parent: root, notBefore: future });
    expect(() => verifyChain(early.certificate, [], [root.certificate])).toThrow(/certificate "early" is not valid before/);
  });

  it('refuses a path through an expired anchor', async () => {
    const past = new Date(Date.now() - 10 * HOUR);
    const root = await createTrustAnchor({ commonName: 'root', notBefore: past, notAfter: new Date(past.getTime() + HOUR) });
    const issuer = await createIssuer({ commonName: 'issuer', parent: root });
    expect(() => verifyChain(issuer.certificate, [], [root.certificate])).toThrow(/certificate "root" expired/);
  });
});
