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

/**
 * The line that names a pod whose proxy could not be tapped while other pods' events stream on (no TapEvent has a
 * kind, so readers tell it apart; Linkerd's tap API only logs these).
 */
export function warningLine(namespace: string, pod: string, message: string): string {
  return JSON.stringify({ kind: 'TapWarning', apiVersion: 'tap.linkerd.io/v1alpha1', namespace, pod, message }) + '\n';
}
