// The one place Certify failures become gRPC statuses (contracts §2.2). Unknown errors become Internal
// with a generic message: details of unexpected failures go to the log, not to the caller.
import { status } from '@grpc/grpc-js';
import { PkiError } from '@trellis/pki';
import {
  CsrRefusedError,
  IdentityMismatchError,
  InvalidRequestError,
  InvalidTokenError,
  IssuerNotReadyError,
  NotServiceAccountError,
  TokenReviewFailedError,
  UnauthenticatedTokenError,
} from '../certify/errors.ts';

export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
  /** False for failures the caller caused; true for ours (worth a warning in the log). */
  readonly internal: boolean;
}

export function toGrpcStatus(err: unknown): GrpcStatus {
  const details = (err as Error).message;
  if (err instanceof IssuerNotReadyError) return { code: status.UNAVAILABLE, details, internal: false };
  if (err instanceof InvalidRequestError || err instanceof InvalidTokenError || err instanceof NotServiceAccountError) {
    return { code: status.INVALID_ARGUMENT, details, internal: false };
  }
  if (err instanceof CsrRefusedError || err instanceof UnauthenticatedTokenError || err instanceof IdentityMismatchError) {
    return { code: status.FAILED_PRECONDITION, details, internal: false };
  }
  // A CSR the policy let through but the signer refused: still the caller's CSR.
  if (err instanceof PkiError && err.code === 'TRELLIS_ERR_PKI_KEY_UNSUPPORTED') return { code: status.FAILED_PRECONDITION, details, internal: false };
  if (err instanceof TokenReviewFailedError) return { code: status.INTERNAL, details, internal: true };
  return { code: status.INTERNAL, details: 'internal error', internal: true };
}

/** "INVALID_ARGUMENT" -> "invalid_argument": the metric label for a status code. */
export function statusLabel(code: status): string {
  return (status[code] ?? 'UNKNOWN').toLowerCase();
}
