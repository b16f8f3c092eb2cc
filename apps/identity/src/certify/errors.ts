// Why a Certify call failed. Each class carries a stable code; grpc/status.ts maps them to gRPC statuses
// (contracts §2.2). Messages say what was wrong and never contain the token or key material.
import { TrellisError } from '@trellis/config';

/** No valid issuer is loaded (startup, or the loaded one has expired): retry later. */
export class IssuerNotReadyError extends TrellisError {
  constructor(message = 'cert issuer not ready yet') {
    super('TRELLIS_ERR_IDENTITY_ISSUER_NOT_READY', message);
  }
}

/** The request itself is unusable: a missing field, a CSR that does not parse or whose signature fails. */
export class InvalidRequestError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_IDENTITY_INVALID_REQUEST', message);
  }
}

/** A well-formed CSR that asks for something we do not sign: wrong or extra names, wrong key type. */
export class CsrRefusedError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_IDENTITY_CSR_REFUSED', message);
  }
}

/** The API server said the token is invalid (bad signature, expired, wrong audience, garbage). */
export class InvalidTokenError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_IDENTITY_INVALID_TOKEN', message);
  }
}

/** The token was reviewed without error but is not authenticated. */
export class UnauthenticatedTokenError extends TrellisError {
  constructor(message = 'authentication token could not be authenticated') {
    super('TRELLIS_ERR_IDENTITY_UNAUTHENTICATED', message);
  }
}

/** The token authenticates someone who is not a service account. */
export class NotServiceAccountError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_IDENTITY_NOT_SERVICE_ACCOUNT', message);
  }
}

/** The token's service account does not own the requested identity. */
export class IdentityMismatchError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_IDENTITY_MISMATCH', message);
  }
}

/** The TokenReview could not be made (API server unreachable, forbidden, 5xx). */
export class TokenReviewFailedError extends TrellisError {
  constructor(message: string, cause?: unknown) {
    super('TRELLIS_ERR_IDENTITY_TOKEN_REVIEW_FAILED', message, { cause });
  }
}
