// Identity's errors. None reaches a request: they are logged, counted, and the next refresh is scheduled.
import { TrellisError } from '@trellis/config';

export type IdentityErrorCode =
  | 'TRELLIS_ERR_IDENTITY_CERTIFY'
  | 'TRELLIS_ERR_IDENTITY_TOKEN'
  | 'TRELLIS_ERR_IDENTITY_CERTIFICATE'
  | 'TRELLIS_ERR_IDENTITY_KEY_FILES';

export class IdentityError extends TrellisError {
  constructor(code: IdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
