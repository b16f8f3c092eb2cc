// Test PKI for the mesh: a trust anchor, an issuer, and leaves for any identity with any lifetime, issued the
// way the identity service issues them (libs/pki's CertificateAuthority, docs/reference/linkerd-contracts.md §2.3).
import { CertificateAuthority, createCsr, createIssuer, createTrustAnchor, encodeCertificates, generateKeyPair, parseCsr, type KeyPair } from '@trellis/pki';
import { verifyCertified, type Credentials } from '../src/identity/credentials.ts';

export interface MeshPki {
  readonly trustAnchors: readonly Uint8Array[];
  readonly trustAnchorsPem: string;
  readonly authority: CertificateAuthority;
  /** A leaf for `identity` whose key is `keys` (fresh by default), valid for `lifetimeMs`. */
  issue(identity: string, opts?: { keys?: KeyPair; lifetimeMs?: number; now?: Date }): Promise<Credentials>;
  /** Signs a DER CSR as identity would, for fake identity servers. */
  signCsr(csrDer: Uint8Array, identity: string, lifetimeMs: number): { leaf: Uint8Array; chain: readonly Uint8Array[]; notAfter: Date };
}

let generation = 0;

export async function createMeshPki(name = 'root.trellis.test'): Promise<MeshPki> {
  // Backdated a day, so tests can issue leaves that were valid in the past (expired ones).
  const notBefore = new Date(Date.now() - 86_400_000);
  const anchor = await createTrustAnchor({ commonName: name, notBefore });
  const issuer = await createIssuer({ commonName: `issuer.${name}`, parent: anchor, notBefore });
  const authority = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [anchor.certificate] });
  const trustAnchors = [anchor.certificate];
  const signCsr = (csrDer: Uint8Array, identity: string, lifetimeMs: number) => {
    const issued = authority.issue(parseCsr(csrDer), identity, { lifetimeMs, clockSkewMs: 0 });
    return { leaf: issued.der, chain: authority.chain, notAfter: issued.notAfter };
  };
  return {
    trustAnchors,
    trustAnchorsPem: encodeCertificates(trustAnchors),
    authority,
    signCsr,
    async issue(identity, opts = {}) {
      const keys = opts.keys ?? generateKeyPair();
      const csr = await createCsr({ keys, dnsNames: [identity] });
      const parsed = parseCsr(csr);
      const issued = authority.issue(parsed, identity, { lifetimeMs: opts.lifetimeMs ?? 3_600_000, clockSkewMs: 0, ...(opts.now ? { now: opts.now } : {}) });
      return verifyCertified({
        identity,
        leaf: issued.der,
        intermediates: authority.chain,
        trustAnchors,
        privateKey: keys.privateKey,
        now: opts.now ?? new Date(),
        generation: ++generation,
      });
    },
  };
}
