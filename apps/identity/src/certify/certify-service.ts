// The Certify decision (contracts §2.2): check the request and the CSR, review the token with Kubernetes,
// check that the token's service account owns the requested identity, then sign. Transport-free: the gRPC
// handler (grpc/identity-server.ts) decodes, calls this, and maps errors to statuses.
import { parseCsr, PkiError, type CertificateAuthority, type ParsedCsr } from '@trellis/pki';
import {
  CsrRefusedError,
  IdentityMismatchError,
  InvalidRequestError,
  InvalidTokenError,
  IssuerNotReadyError,
  NotServiceAccountError,
  UnauthenticatedTokenError,
} from './errors.ts';
import { identityName, serviceAccountFromUsername, type ServiceAccountRef } from './identity-name.ts';
import { IDENTITY_AUDIENCE, type TokenReviewer } from './token-reviewer.ts';

export interface CertifyRequestInput {
  readonly identity: string;
  readonly token: Uint8Array;
  /** DER PKCS#10. */
  readonly csr: Uint8Array;
}

export interface CertifyResult {
  readonly leaf: Uint8Array;
  /** Issuer certificate first, then the rest of its chain (DER). */
  readonly chain: readonly Uint8Array[];
  readonly validUntil: Date;
  readonly serial: string;
  readonly serviceAccount: ServiceAccountRef;
}

export interface IssuerSource {
  /** The issuer currently trusted to sign, if any. */
  current(): CertificateAuthority | undefined;
}

export interface CertifyServiceOptions {
  readonly issuer: IssuerSource;
  readonly reviewer: TokenReviewer;
  readonly controlPlaneNamespace: string;
  readonly trustDomain: string;
  readonly issuanceLifetimeMs: number;
  readonly clockSkewMs: number;
  readonly now?: () => Date;
}

/** Quotes a caller-supplied string for an error message, bounded so a huge value cannot bloat replies or logs. */
export function quote(s: string, max = 256): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

export class CertifyService {
  readonly #o: CertifyServiceOptions;
  readonly #now: () => Date;

  constructor(opts: CertifyServiceOptions) {
    this.#o = opts;
    this.#now = opts.now ?? (() => new Date());
  }

  async certify(req: CertifyRequestInput): Promise<CertifyResult> {
    const issuer = this.#o.issuer.current();
    if (!issuer) throw new IssuerNotReadyError();
    const now = this.#now();
    if (!issuer.isValidAt(now)) throw new IssuerNotReadyError(`cert issuer is not valid now (it expires at ${issuer.notAfter.toISOString()})`);
    if (req.identity === '') throw new InvalidRequestError('missing identity');
    const token = Buffer.from(req.token).toString('utf8').trim();
    if (token === '') throw new InvalidRequestError('missing token');
    if (req.csr.length === 0) throw new InvalidRequestError('missing certificate signing request');

    let csr: ParsedCsr;
    try {
      csr = parseCsr(req.csr);
    } catch (err) {
      if (err instanceof PkiError) throw new InvalidRequestError(err.message);
      throw err;
    }
    checkCsr(csr, req.identity);

    const review = await this.#o.reviewer.review(token, [IDENTITY_AUDIENCE]);
    if (review.error) throw new InvalidTokenError(`invalid token: ${review.error}`);
    if (!review.authenticated) throw new UnauthenticatedTokenError();
    const sa = serviceAccountFromUsername(review.username ?? '');
    if (!sa) throw new NotServiceAccountError(`token authenticates ${quote(review.username ?? '')}, which is not a service account (system:serviceaccount:<namespace>:<name>)`);
    const expected = identityName(sa, this.#o.controlPlaneNamespace, this.#o.trustDomain);
    if (expected !== req.identity) {
      throw new IdentityMismatchError(`requested identity did not match provided token: requested ${quote(req.identity)}, token is for ${quote(expected)}`);
    }

    // The CSR checks above already refused anything but a P-256 key; issue() re-checks as the crypto boundary.
    const leaf = issuer.issue(csr, req.identity, { lifetimeMs: this.#o.issuanceLifetimeMs, clockSkewMs: this.#o.clockSkewMs, now });
    return { leaf: leaf.der, chain: issuer.chain, validUntil: leaf.notAfter, serial: leaf.serial, serviceAccount: sa };
  }
}

/** The CSR policy: a verified self-signature, an ECDSA P-256 key, exactly one DNS SAN = identity, no other SANs, CN empty or = identity. */
function checkCsr(csr: ParsedCsr, identity: string): void {
  if (!csr.verifySignature()) throw new InvalidRequestError('certificate signing request signature does not verify');
  const k = csr.publicKey;
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    throw new CsrRefusedError(`CSR must contain an ECDSA P-256 public key, found ${k.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''}`);
  }
  const others = csr.emailAddresses.length + csr.ipAddresses.length + csr.uris.length + csr.otherNames;
  if (others > 0) throw new CsrRefusedError('CSR must not contain email, IP, URI or other non-DNS subject alternative names');
  if (csr.dnsNames.length !== 1) throw new CsrRefusedError(`CSR must contain exactly one DNS name, found ${csr.dnsNames.length}`);
  if (csr.dnsNames[0] !== identity) {
    throw new CsrRefusedError(`CSR names ${quote(csr.dnsNames[0] ?? '')}, not the requested identity ${quote(identity)}`);
  }
  for (const cn of csr.commonNames) {
    if (cn !== identity) throw new CsrRefusedError(`CSR common name ${quote(cn)} must be empty or the requested identity`);
  }
}
