// Errors at the admission boundary and their one mapping to the wire.
import { TrellisError } from '@trellis/config';

/** The body is not an AdmissionReview we can answer: HTTP 400, no review in the response. */
export class BadReviewError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_BAD_ADMISSION_REVIEW', message);
  }
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  result?: { message: string; code?: number };
}

/** A failure while answering a decodable review: the pod is refused with the reason (contracts §5.1). */
export function failureResponse(uid: string, err: unknown): AdmissionResponse {
  const message = err instanceof TrellisError ? `${err.code}: ${err.message}` : `TRELLIS_ERR_INTERNAL: ${err instanceof Error ? err.message : String(err)}`;
  return { uid, allowed: false, result: { message, code: 500 } };
}
