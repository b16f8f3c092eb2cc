// What inbound policy answers instead of forwarding (linkerd-proxy.md §4 "Synthesized error responses"): 403 /
// PERMISSION_DENIED for an unauthorized request, 404 / NOT_FOUND when no route matches, the configured status
// or gRPC code for an injected failure, a 3xx with Location for a redirect, 500 / INTERNAL for a policy the
// proxy could not use, 429 / RESOURCE_EXHAUSTED over the Server's rate limit. None of them closes the connection. Denials count as `unauthorized` in
// inbound_http_errors_total; the others are policy working as configured and are not errors.
import { ProxyError, GRPC_INTERNAL } from '../errors.ts';

const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;

/** gRPC's mapping of HTTP statuses to codes, for an HTTP failure injected into a gRPC request. */
function grpcFromHttp(status: number): number {
  if (status === 400) return GRPC_INTERNAL;
  if (status === 401) return 16;
  if (status === 403) return GRPC_PERMISSION_DENIED;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return 14;
  return 2;
}

export class UnauthorizedRequestError extends ProxyError {
  readonly httpStatus = 403;
  readonly grpcStatus = GRPC_PERMISSION_DENIED;
  readonly errorLabel = 'unauthorized';
  override readonly fatal = false;
  constructor(server: string) {
    super('TRELLIS_ERR_UNAUTHORIZED', `unauthorized request on route (server ${server})`);
  }
}

export class RateLimitedError extends ProxyError {
  readonly httpStatus = 429;
  readonly grpcStatus = 8;
  readonly errorLabel = '';
  override readonly fatal = false;
  constructor(scope: string) {
    super('TRELLIS_ERR_RATE_LIMITED', `${scope === 'total' ? 'total' : 'per-identity'} rate limit exceeded`);
  }
}

export class RouteNotFoundError extends ProxyError {
  readonly httpStatus = 404;
  readonly grpcStatus = GRPC_NOT_FOUND;
  readonly errorLabel = '';
  override readonly fatal = false;
  constructor() {
    super('TRELLIS_ERR_ROUTE_NOT_FOUND', 'no route found for request');
  }
}

export class InjectedFailureError extends ProxyError {
  readonly httpStatus: number;
  readonly grpcStatus: number;
  readonly errorLabel = '';
  override readonly fatal = false;
  constructor(grpc: boolean, status: number, message: string) {
    super('TRELLIS_ERR_INJECTED_FAILURE', message || (grpc ? `gRPC request configured to fail with ${status}` : `HTTP request configured to fail with ${status}`));
    this.httpStatus = grpc ? 500 : status;
    this.grpcStatus = grpc ? status : grpcFromHttp(status);
  }
}

export class RedirectResponse extends ProxyError {
  readonly httpStatus: number;
  readonly grpcStatus = GRPC_INTERNAL;
  readonly errorLabel = '';
  override readonly fatal = false;
  override readonly responseHeaders: Readonly<Record<string, string>>;
  constructor(status: number, location: string) {
    super('TRELLIS_ERR_REDIRECT', `request redirected to ${location}`);
    this.httpStatus = status;
    this.responseHeaders = { location };
  }
}

export class InvalidPolicyResponse extends ProxyError {
  readonly httpStatus = 500;
  readonly grpcStatus = GRPC_INTERNAL;
  readonly errorLabel = 'unexpected';
  override readonly fatal = false;
  constructor(why: string) {
    super('TRELLIS_ERR_INVALID_POLICY', `invalid server policy: ${why}`);
  }
}
