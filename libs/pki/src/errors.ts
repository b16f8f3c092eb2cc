// Every failure in this lib is a PkiError with a stable code; boundaries (Certify, the CLI) map codes to
// their wire form. Messages name the problem and never include key material.
import { TrellisError } from '@trellis/config';

export type PkiErrorCode =
  /** Bytes that are not valid DER (or not the expected structure). */
  | 'TRELLIS_ERR_PKI_DER'
  /** Text that is not valid PEM, or holds no block of the expected type. */
  | 'TRELLIS_ERR_PKI_PEM'
  /** A CSR that cannot be parsed. */
  | 'TRELLIS_ERR_PKI_CSR_MALFORMED'
  /** A CSR whose self-signature does not verify. */
  | 'TRELLIS_ERR_PKI_CSR_SIGNATURE'
  /** A key of an algorithm or curve we do not accept (only ECDSA P-256 is). */
  | 'TRELLIS_ERR_PKI_KEY_UNSUPPORTED'
  /** A certificate that does not chain to the trust anchors, or is outside its validity. */
  | 'TRELLIS_ERR_PKI_CHAIN'
  /** An issuer certificate/key pair that cannot issue: not a CA, key mismatch, wrong curve. */
  | 'TRELLIS_ERR_PKI_ISSUER';

export class PkiError extends TrellisError {
  declare readonly code: PkiErrorCode;
  constructor(code: PkiErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
