// The destination's typed errors. Each API boundary maps them to a gRPC status in one function
// (api/grpc-status.ts); messages name the offending input.
import { TrellisError } from '@trellis/config';

/** A request's authority, address, port or workload that cannot be parsed or is not supported. */
export class InvalidRequestError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_DESTINATION_INVALID_REQUEST', message);
  }
}

/** The Service, Pod or workload a request names does not exist. */
export class NotFoundError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_DESTINATION_NOT_FOUND', message);
  }
}

/** The request is valid but the cluster state makes it ambiguous (e.g. one cluster IP, two Services). */
export class AmbiguousTargetError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_DESTINATION_AMBIGUOUS', message);
  }
}

/** A stream's client read too slowly: its queue of pending updates overflowed. */
export class QueueOverflowError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_DESTINATION_QUEUE_OVERFLOW', message);
  }
}

/** The server is shutting down. */
export class ShuttingDownError extends TrellisError {
  constructor() {
    super('TRELLIS_ERR_DESTINATION_SHUTTING_DOWN', 'the destination service is shutting down');
  }
}

/** A webhook body that is not an AdmissionReview we can answer: HTTP 400, no review in the response. */
export class BadAdmissionReviewError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_BAD_ADMISSION_REVIEW', message);
  }
}
