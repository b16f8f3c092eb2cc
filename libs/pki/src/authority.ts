// The issuing side: an issuer certificate + key, validated against the trust anchors, that signs leaf
// certificates from CSRs with the contents Linkerd's identity controller gives them (contracts §2.3).
import { X509Certificate, randomBytes, sign, type KeyObject } from 'node:crypto';
import { DerReader, bitString, booleanTrue, der, encodeOid, encodeTime, explicit, octetString, readSingle, sequence, tlvRaw, unsignedInteger, TAG } from './der.ts';
import { PkiError } from './errors.ts';
import type { ParsedCsr } from './csr.ts';
import { isP256, parsePrivateKey, spkiOf, describeKey } from './keys.ts';
import { OID } from './oids.ts';
import { decodeCertificates } from './pem.ts';
import { x509 } from './x509.ts';
import { verifyChain } from './verify.ts';

export interface IssuanceOptions {
  /** How long a leaf lives (Linkerd: 24h). */
  readonly lifetimeMs: number;
  /** Backdating of notBefore and slack on notAfter for peers' clock differences (Helm default 20s). */
  readonly clockSkewMs: number;
  readonly now?: Date;
}

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Serial number, lowercase hex. */
  readonly serial: string;
}

export interface AuthorityParts {
  /** The issuer certificate first, then any further chain certificates (as in crt.pem). */
  readonly chain: readonly Uint8Array[];
  readonly privateKey: KeyObject;
  readonly trustAnchors: readonly Uint8Array[];
  readonly now?: Date;
  /** Source of serial-number entropy; injectable for tests. */
  readonly random?: (n: number) => Uint8Array;
}

export interface AuthorityPem {
  /** crt.pem: the issuer certificate, optionally followed by intermediates toward the root. */
  readonly certificatePem: string;
  /** key.pem: PKCS#8 or SEC1 EC private key. */
  readonly privateKeyPem: string;
  /** ca-bundle.crt: one or more trust anchors. */
  readonly trustAnchorsPem: string;
  readonly now?: Date;
  readonly random?: (n: number) => Uint8Array;
}

const invalid = (why: string) => new PkiError('TRELLIS_ERR_PKI_ISSUER', why);

// Precomputed encodings of the parts that are identical in every leaf.
const SIG_ALG = sequence(encodeOid(OID.ecdsaWithSha256));
const VERSION_3 = explicit(0, der(TAG.INTEGER, Uint8Array.of(2)));
// KeyUsage digitalSignature (bit 0) + keyEncipherment (bit 2): BIT STRING, 5 unused bits, 0b101xxxxx. Critical, as Go marks it.
const KEY_USAGE = sequence(encodeOid(OID.keyUsage), booleanTrue(), octetString(der(TAG.BIT_STRING, Uint8Array.of(5, 0xa0))));
const EXT_KEY_USAGE = sequence(encodeOid(OID.extKeyUsage), octetString(sequence(encodeOid(OID.serverAuth), encodeOid(OID.clientAuth))));
const EMPTY_NAME = sequence();

export class CertificateAuthority {
  /** Issuer certificate DER followed by the rest of crt.pem: the response's intermediate_certificates. */
  readonly chain: readonly Uint8Array[];
  readonly trustAnchors: readonly Uint8Array[];
  readonly certificate: X509Certificate;
  /** Earliest expiry among the issuer, its chain and the anchor it verified to; leaves are capped at it. */
  readonly notAfter: Date;
  /** The earliest expiry among all trust anchors in the bundle. */
  readonly trustAnchorsNotAfter: Date;
  readonly #key: KeyObject;
  readonly #issuerName: Uint8Array;
  readonly #authorityKeyId: Uint8Array | undefined;
  readonly #random: (n: number) => Uint8Array;

  private constructor(parts: AuthorityParts, notAfter: Date, issuerName: Uint8Array, akid: Uint8Array | undefined) {
    this.chain = parts.chain;
    this.trustAnchors = parts.trustAnchors;
    this.certificate = new X509Certificate(parts.chain[0] as Uint8Array);
    this.notAfter = notAfter;
    this.trustAnchorsNotAfter = new Date(Math.min(...parts.trustAnchors.map((a) => new X509Certificate(a).validToDate.getTime())));
    this.#key = parts.privateKey;
    this.#issuerName = issuerName;
    this.#authorityKeyId = akid;
    this.#random = parts.random ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  /** Reads crt.pem, key.pem and the anchor bundle; validates them (see fromParts). */
  static fromPem(p: AuthorityPem): CertificateAuthority {
    const chain = decodeCertificates(p.certificatePem, 'issuer certificate');
    const trustAnchors = decodeCertificates(p.trustAnchorsPem, 'trust anchors');
    const privateKey = parsePrivateKey(p.privateKeyPem, 'issuer key');
    return CertificateAuthority.fromParts({ chain, privateKey, trustAnchors, ...(p.now ? { now: p.now } : {}), ...(p.random ? { random: p.random } : {}) });
  }

  /**
   * Validates and builds an authority. Refuses (PkiError) an issuer that: is not an ECDSA P-256 key, does not
   * match its key, is not a CA allowed to sign certificates, is outside its validity, or does not chain to the
   * trust anchors. These are the checks that keep a bad rotation from taking down the mesh.
   */
  static fromParts(parts: AuthorityParts): CertificateAuthority {
    const first = parts.chain[0];
    if (!first) throw invalid('issuer certificate: no certificate');
    if (parts.trustAnchors.length === 0) throw invalid('trust anchors: no certificate');
    const now = parts.now ?? new Date();
    const cert = new X509Certificate(first);
    if (!isP256(cert.publicKey)) throw invalid(`issuer certificate must hold an ECDSA P-256 key, found ${describeKey(cert.publicKey)}`);
    if (!isP256(parts.privateKey)) throw invalid(`issuer key must be an ECDSA P-256 key, found ${describeKey(parts.privateKey)}`);
    if (!Buffer.from(spkiOf(parts.privateKey)).equals(Buffer.from(spkiOf(cert.publicKey)))) {
      throw invalid('issuer key does not match the issuer certificate');
    }
    const pc = new x509.X509Certificate(first);
    const bc = pc.getExtension(x509.BasicConstraintsExtension);
    if (!bc?.ca) throw invalid('issuer certificate is not a CA (basicConstraints CA:TRUE is missing)');
    const ku = pc.getExtension(x509.KeyUsagesExtension);
    if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) throw invalid('issuer certificate key usage does not allow signing certificates');
    const verified = verifyChain(first, parts.chain.slice(1), parts.trustAnchors, { now });
    const ski = pc.getExtension(x509.SubjectKeyIdentifierExtension);
    return new CertificateAuthority(parts, verified.notAfter, subjectOf(first), ski ? Buffer.from(ski.keyId, 'hex') : undefined);
  }

  /** True while the issuer can still sign (within validity). */
  isValidAt(now: Date): boolean {
    return now >= this.certificate.validFromDate && now < this.notAfter;
  }

  /**
   * Signs a leaf for `identity` from a CSR the caller has already validated. Contents (contracts §2.3):
   * subject and public key copied from the CSR; one DNS SAN = identity; KeyUsage digitalSignature +
   * keyEncipherment; ExtKeyUsage serverAuth + clientAuth; ECDSA with SHA-256; notBefore = now - skew;
   * notAfter = now + lifetime + skew, capped at the issuer chain's earliest expiry.
   * Serial numbers are 126 random bits rather than Linkerd's per-process counter, so leaves from restarted or
   * replicated identity pods never share an issuer + serial pair (RFC 5280 §4.1.2.2).
   */
  issue(csr: ParsedCsr, identity: string, opts: IssuanceOptions): IssuedCertificate {
    if (!isP256(csr.publicKey)) {
      throw new PkiError('TRELLIS_ERR_PKI_KEY_UNSUPPORTED', `CSR must hold an ECDSA P-256 key, found ${describeKey(csr.publicKey)}`);
    }
    const nowS = Math.floor((opts.now ?? new Date()).getTime() / 1000);
    const skewS = Math.ceil(opts.clockSkewMs / 1000);
    const notBefore = new Date((nowS - skewS) * 1000);
    const cap = Math.floor(this.notAfter.getTime() / 1000);
    const notAfter = new Date(Math.min(nowS + Math.round(opts.lifetimeMs / 1000) + skewS, cap) * 1000);

    const serialBytes = this.#random(16);
    // Positive, non-zero and always 16 bytes: the top bit clear (no sign byte), the next one set.
    serialBytes[0] = ((serialBytes[0] ?? 0) & 0x7f) | 0x40;
    const emptySubject = Buffer.from(csr.subject).equals(EMPTY_NAME);
    const extensions = [
      KEY_USAGE,
      EXT_KEY_USAGE,
      ...(this.#authorityKeyId ? [sequence(encodeOid(OID.authorityKeyIdentifier), octetString(sequence(der(0x80, this.#authorityKeyId))))] : []),
      // RFC 5280 §4.2.1.6: the SAN is critical when it is the only name (empty subject).
      sequence(
        encodeOid(OID.subjectAltName),
        ...(emptySubject ? [booleanTrue()] : []),
        octetString(sequence(der(0x82, Buffer.from(identity, 'latin1')))),
      ),
    ];
    const tbs = sequence(
      VERSION_3,
      unsignedInteger(serialBytes),
      SIG_ALG,
      this.#issuerName,
      sequence(encodeTime(notBefore), encodeTime(notAfter)),
      csr.subject,
      csr.spki,
      explicit(3, sequence(...extensions)),
    );
    const signature = sign('sha256', tbs, this.#key);
    return {
      der: sequence(tbs, SIG_ALG, bitString(signature)),
      notBefore,
      notAfter,
      serial: Buffer.from(serialBytes).toString('hex'),
    };
  }
}

/** The subject Name of a certificate, byte for byte, so leaves name their issuer exactly as it names itself. */
function subjectOf(cert: Uint8Array): Uint8Array {
  const outer = DerReader.of(readSingle(cert, 'issuer certificate', TAG.SEQUENCE), 'issuer certificate');
  const tbs = DerReader.of(outer.read(TAG.SEQUENCE), 'issuer certificate');
  if (tbs.peekTag() === 0xa0) tbs.read();
  tbs.read(TAG.INTEGER);
  tbs.read(TAG.SEQUENCE);
  tbs.read(TAG.SEQUENCE);
  tbs.read(TAG.SEQUENCE);
  return tlvRaw(tbs.read(TAG.SEQUENCE));
}
