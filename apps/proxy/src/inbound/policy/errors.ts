// What inbound policy answers instead of forwarding (docs/reference/linkerd-proxy.md §4 "Synthesized error responses"): 403 /
// PERMISSION_DENIED for an unauthorized request, 404 / NOT_FOUND when no route matches, the configured status
// or gRPC code for an injected failure, a 3xx with Location for a redirect, 500 / INTERNAL for a policy the
// proxy could not use, 429 / RESOURCE_EXHAUSTED over the Server's rate limit. None of them closes the connection. Denials count as `unauthorized` in
// inbound_http_errors_total; the others are policy working as configured and are not errors.
import { ProxyError, GRPC_INTERNAL } from '../../errors.ts';
import { GRPC_PERMISSION_DENIED } from '../../policy/route-errors.ts';


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
