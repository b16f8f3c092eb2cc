// The one place where errors become gRPC statuses.
import { status, type StatusObject } from '@grpc/grpc-js';
import { AmbiguousTargetError, InvalidRequestError, NotFoundError, QueueOverflowError, ShuttingDownError } from '../errors.ts';

export function grpcStatus(err: unknown): Pick<StatusObject, 'code' | 'details'> {
  const details = err instanceof Error ? err.message : String(err);
  if (err instanceof InvalidRequestError) return { code: status.INVALID_ARGUMENT, details };
  if (err instanceof NotFoundError) return { code: status.NOT_FOUND, details };
  if (err instanceof AmbiguousTargetError) return { code: status.FAILED_PRECONDITION, details };
  if (err instanceof QueueOverflowError) return { code: status.RESOURCE_EXHAUSTED, details };
  if (err instanceof ShuttingDownError) return { code: status.UNAVAILABLE, details };
  return { code: status.INTERNAL, details: 'internal error' };
}
