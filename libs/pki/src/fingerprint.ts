import { createHash } from 'node:crypto';

/** SHA-256 of the DER, lowercase hex: the form Linkerd's IssuedLeafCertificate events and `check` print. */
export function sha256Fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}
