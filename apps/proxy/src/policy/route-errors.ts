// What a policy route answers itself, inbound and outbound alike (docs/reference/linkerd-proxy.md §4 "Synthesized error
// responses"): 404 / NOT_FOUND when no route matches, and a failure injector's status or gRPC code. Both are
// policy working as configured: they close no connection and are not counted as proxy errors.
import { GRPC_INTERNAL, ProxyError } from '../errors.ts';

export const GRPC_NOT_FOUND = 5;
export const GRPC_PERMISSION_DENIED = 7;

/** gRPC's mapping of HTTP statuses to codes, for an HTTP failure injected into a gRPC request. */
export function grpcFromHttp(status: number): number {
  if (status === 400) return GRPC_INTERNAL;
  if (status === 401) return 16;
  if (status === 403) return GRPC_PERMISSION_DENIED;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return 14;
  return 2;
}

/** No route of the policy matches the request. */
export class RouteNotFoundError extends ProxyError {
  readonly httpStatus = 404;
  readonly grpcStatus = GRPC_NOT_FOUND;
  readonly errorLabel = '';
  override readonly fatal = false;
  constructor() {
    super('TRELLIS_ERR_ROUTE_NOT_FOUND', 'no route found for request');
  }
}

/** A failure injector answered instead of the app: its status (HTTP) or code (gRPC), and its message. */
export class InjectedFailureError extends ProxyError {
  readonly httpStatus: number;
  readonly grpcStatus: number;
  readonly errorLabel = '';
  override readonly fatal = false;
  constructor(status: number, grpc: boolean, message: string) {
    super('TRELLIS_ERR_INJECTED_FAILURE', message || (grpc ? `gRPC request configured to fail with ${status}` : `HTTP request configured to fail with ${status}`));
    this.httpStatus = grpc ? 500 : status;
    this.grpcStatus = grpc ? status : grpcFromHttp(status);
  }
}

/** A redirect filter that cannot build a Location for this request (no authority, no prefix to replace). */
export class InvalidRedirectError extends ProxyError {
  readonly httpStatus = 500;
  readonly grpcStatus = GRPC_INTERNAL;
  readonly errorLabel = 'unexpected';
  override readonly fatal = false;
  constructor(why: string) {
    super('TRELLIS_ERR_INVALID_REDIRECT', `invalid redirect: ${why}`);
  }
}
