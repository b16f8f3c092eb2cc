// Certificate facts `trellis check` judges: key algorithm, validity window, time left, and who signed whom.
import { X509Certificate } from 'node:crypto';
import { decodeCertificates, verifyChain } from '@trellis/pki';

export const DAY_MS = 86_400_000;
/** Linkerd warns when a trust anchor, issuer or webhook certificate has less than this left. */
export const MIN_REMAINING_MS = 60 * DAY_MS;

export function parseCertificates(pem: string, what: string): X509Certificate[] {
  return decodeCertificates(pem, what).map((der) => new X509Certificate(der));
}

export function nameOf(c: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1] ?? c.subject.replace(/\n/g, ', ');
}

/** undefined when the key is ECDSA P-256 (what identity signs with and proxies expect), else what it is. */
export function unsupportedAlgorithm(c: X509Certificate): string | undefined {
  const key = c.publicKey;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === 'prime256v1') return undefined;
  return `"${nameOf(c)}" uses ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}; ECDSA P-256 is required`;
}

/** undefined when `now` is inside the validity window. */
export function outsideValidity(c: X509Certificate, now: Date): string | undefined {
  if (now < c.validFromDate) return `"${nameOf(c)}" is not valid before ${c.validFromDate.toISOString()}`;
  if (now > c.validToDate) return `"${nameOf(c)}" expired at ${c.validToDate.toISOString()}`;
  return undefined;
}

/** undefined when more than `minMs` is left. */
export function expiresSoon(c: X509Certificate, now: Date, minMs = MIN_REMAINING_MS): string | undefined {
  const left = c.validToDate.getTime() - now.getTime();
  if (left >= minMs) return undefined;
  return `"${nameOf(c)}" expires at ${c.validToDate.toISOString()} (in ${Math.max(0, Math.floor(left / DAY_MS))} days)`;
}

/** undefined when `leaf` chains to one of `anchors` (through `intermediates`), else why not. */
export function chainProblem(leaf: X509Certificate, intermediates: readonly X509Certificate[], anchors: readonly X509Certificate[], now: Date): string | undefined {
  try {
    verifyChain(leaf.raw, intermediates.map((c) => c.raw), anchors.map((c) => c.raw), { now });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
