// Errors the tap API answers with, as Kubernetes Status objects (the aggregation layer passes them to kubectl).
import { TrellisError } from '@trellis/config';

export class TapApiError extends TrellisError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(`TRELLIS_ERR_TAP_API_${reason.toUpperCase()}`, message);
    this.status = status;
    this.reason = reason;
  }
}

/** The Kubernetes Status body of an error. */
export function statusBody(err: TapApiError): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, code: err.status };
}
