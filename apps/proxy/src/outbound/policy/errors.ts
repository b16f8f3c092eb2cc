// Errors of policy routing (docs/reference/linkerd-proxy.md §4 "Synthesized error responses"): none of them closes the client's
// connection, unlike the endpoint errors.
import { GRPC_DEADLINE_EXCEEDED, GRPC_INTERNAL, ProxyError } from '../../errors.ts';


/** The matching rule has no backends (and no filter answered): 500 / INTERNAL. */
export class NoBackendsError extends ProxyError {
  readonly httpStatus = 500;
  readonly grpcStatus = GRPC_INTERNAL;
  readonly errorLabel = 'unexpected';
  override readonly fatal = false;
  constructor(route: string) {
    super('TRELLIS_ERR_ROUTE_NO_BACKENDS', `route ${route} has no backends`);
  }
}

export type TimeoutKind = 'request' | 'response' | 'response headers' | 'idle';

/** A policy route's request, response or per-try timeout: a non-fatal 504 / DEADLINE_EXCEEDED. */
export class PolicyTimeoutError extends ProxyError {
  readonly httpStatus = 504;
  readonly grpcStatus = GRPC_DEADLINE_EXCEEDED;
  readonly errorLabel: string;
  override readonly fatal = false;
  readonly kind: TimeoutKind;
  constructor(kind: TimeoutKind, ms: number) {
    super('TRELLIS_ERR_ROUTE_TIMEOUT', `${kind} timed out after ${ms}ms`);
    this.kind = kind;
    this.errorLabel = `${kind} timeout`;
  }
}

/** The opaque route forbids the connection (or is invalid): the connection is refused. */
export class OpaqueRouteRefusedError extends Error {
  readonly code = 'TRELLIS_ERR_OPAQUE_ROUTE_REFUSED';
}
