// The one place a ProxyError becomes a synthesized HTTP response (docs/reference/linkerd-proxy.md §4 "Synthesized error
// responses"). Beyond Linkerd, every response also names our stable code and the proxy and direction.
import type { Direction } from '../metrics/proxy-metrics.ts';
import type { ProxyError } from '../errors.ts';

export const L5D_PROXY_ERROR = 'l5d-proxy-error';
export const TRELLIS_ERROR_CODE = 'trellis-proxy-error-code';
export const TRELLIS_ERROR_SOURCE = 'trellis-proxy-error-source';

export interface RespondContext {
  readonly direction: Direction;
  readonly proxyName: string;
  /** Linkerd's informational headers (l5d-proxy-error, grpc-message): outbound unless disabled; inbound only for meshed peers. */
  readonly informational: boolean;
  /** Our stable code and the producing proxy (trellis-proxy-error-code/-source). */
  readonly identify: boolean;
}

export interface Synthesized {
  readonly status: number;
  /** Lower-case header names; no pseudo-headers. */
  readonly headers: Record<string, string>;
  /** HTTP/1: close the client connection after this response. */
  readonly close: boolean;
}

/** gRPC messages are percent-encoded (grpc spec: "Percent-Encoded" for grpc-message). */
export function grpcMessage(text: string): string {
  return text.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** Header values may not carry control characters; messages are ours, but keep them safe anyway. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** `meshedPeer`: the client has a verified identity; inbound gives such peers the informational headers. */
export function synthesize(err: ProxyError, grpc: boolean, ctx: RespondContext, meshedPeer = false): Synthesized {
  const headers: Record<string, string> = { ...err.responseHeaders };
  const informational = ctx.informational || (ctx.direction === 'inbound' && meshedPeer);
  if (grpc) {
    headers['content-type'] = 'application/grpc';
    headers['grpc-status'] = String(err.grpcStatus);
    if (informational) headers['grpc-message'] = grpcMessage(err.message);
  } else headers['content-length'] = '0';
  if (informational) headers[L5D_PROXY_ERROR] = headerSafe(err.message);
  if (ctx.identify) {
    headers[TRELLIS_ERROR_CODE] = err.code;
    headers[TRELLIS_ERROR_SOURCE] = headerSafe(`${ctx.direction} proxy ${ctx.proxyName}`);
  }
  return { status: grpc ? 200 : err.httpStatus, headers, close: err.fatal };
}

/** A request is gRPC when its content-type starts with application/grpc. */
export function isGrpcContentType(ct: string | undefined): boolean {
  return ct !== undefined && ct.startsWith('application/grpc');
}
