// The proxy's error catalogue. Each error carries what every boundary needs: the HTTP status and gRPC code of
// the synthesized response (docs/reference/linkerd-proxy.md §4 "Synthesized error responses"), whether the client connection
// must close, and the `error` label Linkerd uses in its *_errors_total counters.
import { TrellisError } from '@trellis/config';

export const GRPC_UNAVAILABLE = 14;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_INTERNAL = 13;

export abstract class ProxyError extends TrellisError {
  abstract readonly httpStatus: number;
  abstract readonly grpcStatus: number;
  /** Linkerd's `error` label value for outbound_/inbound_*_errors_total. */
  abstract readonly errorLabel: string;
  /** Fatal errors close the client's HTTP/1 connection (connection: close). */
  readonly fatal: boolean = true;
  /** Headers the synthesized response carries besides Linkerd's (a redirect's Location). */
  readonly responseHeaders: Readonly<Record<string, string>> | undefined = undefined;
}

/** The endpoint refused, reset or dropped the connection: 502 / UNAVAILABLE. */
export class ConnectError extends ProxyError {
  readonly httpStatus = 502;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'i/o';
  readonly errno: string;
  constructor(target: string, errno: string, options?: { cause?: unknown }) {
    super('TRELLIS_ERR_CONNECT', `connect to ${target} failed: ${errno}`, options);
    this.errno = errno;
  }
}

/** The connection was established but broke before a response arrived: 502 / UNAVAILABLE. */
export class UpstreamIoError extends ProxyError {
  readonly httpStatus = 502;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'i/o';
  constructor(target: string, why: string, options?: { cause?: unknown }) {
    super('TRELLIS_ERR_UPSTREAM_IO', `connection to ${target} failed: ${why}`, options);
  }
}

/** No connection within the connect timeout: 504 / DEADLINE_EXCEEDED. */
export class ConnectTimeoutError extends ProxyError {
  readonly httpStatus = 504;
  readonly grpcStatus = GRPC_DEADLINE_EXCEEDED;
  readonly errorLabel = 'failfast';
  constructor(target: string, ms: number) {
    super('TRELLIS_ERR_CONNECT_TIMEOUT', `connect to ${target} timed out after ${ms}ms`);
  }
}

/** The in-flight limit is reached: 503 / UNAVAILABLE. */
export class LoadShedError extends ProxyError {
  readonly httpStatus = 503;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'loadshed';
  constructor(limit: number) {
    super('TRELLIS_ERR_LOAD_SHED', `service unavailable: ${limit} requests in flight`);
  }
}

/** The endpoint's TLS identity is not the one the request's l5d-require-id names: 502 / UNAVAILABLE. */
export class IdentityRequiredError extends ProxyError {
  readonly httpStatus = 502;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'unexpected';
  constructor(required: string, actual: string | undefined) {
    super('TRELLIS_ERR_IDENTITY_REQUIRED', `request required the identity '${required}' but the endpoint is ${actual ? `'${actual}'` : 'not meshed'}`);
  }
}

/** Anything not foreseen: 500 / INTERNAL. */
export class UnexpectedError extends ProxyError {
  readonly httpStatus = 500;
  readonly grpcStatus = GRPC_INTERNAL;
  readonly errorLabel = 'unexpected';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRELLIS_ERR_PROXY_UNEXPECTED', message, options);
  }
}

/** Maps any thrown value to a ProxyError so one function can answer for it. */
export function asProxyError(err: unknown, target: string): ProxyError {
  if (err instanceof ProxyError) return err;
  // http2 reports a failed session as a cancelled stream whose cause is the real error.
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause !== undefined && cause !== err) {
    const inner = asProxyError(cause, target);
    if (!(inner instanceof UnexpectedError)) return inner;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
      return new ConnectError(target, code, { cause: err });
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ETIMEDOUT') {
      return new UpstreamIoError(target, code, { cause: err });
    }
    if (code.startsWith('HPE_')) return new UpstreamIoError(target, `invalid HTTP response (${code})`, { cause: err });
    if (code.startsWith('ERR_HTTP2')) return new UpstreamIoError(target, code, { cause: err });
  }
  return new UnexpectedError(err instanceof Error ? err.message : String(err), { cause: err });
}
