// TLS errors of the data path. They extend the proxy's catalogue so the one mapping function turns them into
// the synthesized response Linkerd gives (502 for a peer that is not who discovery said).
import { GRPC_UNAVAILABLE, ProxyError } from '../errors.ts';

/** The peer's certificate verified, but it does not name the identity discovery gave: 502 / UNAVAILABLE. */
export class TlsIdentityMismatchError extends ProxyError {
  readonly httpStatus = 502;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'i/o';
  readonly expected: string;
  readonly found: readonly string[];
  constructor(target: string, expected: string, found: readonly string[]) {
    super('TRELLIS_ERR_TLS_ID_MISMATCH', `certificate does not match TLS identity: ${target} expected ${expected}, found [${found.join(', ')}]`);
    this.expected = expected;
    this.found = found;
  }
}

/** The handshake failed (untrusted or expired chain, protocol mismatch, reset): 502 / UNAVAILABLE. */
export class TlsHandshakeError extends ProxyError {
  readonly httpStatus = 502;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'i/o';
  constructor(target: string, why: string, options?: { cause?: unknown }) {
    super('TRELLIS_ERR_TLS_HANDSHAKE', `TLS handshake with ${target} failed: ${why}`, options);
  }
}

/** No certificate yet: the proxy cannot originate mTLS before identity answers. */
export class NoIdentityError extends ProxyError {
  readonly httpStatus = 502;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'i/o';
  constructor() {
    super('TRELLIS_ERR_TLS_NO_IDENTITY', 'this proxy has no certificate yet');
  }
}

/** An inbound connection gave no ClientHello decision within the detect timeout; it is closed (Linkerd does). */
export class TlsDetectTimeoutError extends ProxyError {
  readonly httpStatus = 504;
  readonly grpcStatus = 4;
  readonly errorLabel = 'tls detection timeout';
  constructor(ms: number) {
    super('TRELLIS_ERR_TLS_DETECT_TIMEOUT', `TLS detection timed out after ${ms}ms`);
  }
}

/** A direct (port 4143) connection without the transport header, or without a client identity. */
export class TransportHeaderError extends ProxyError {
  readonly httpStatus = 502;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'unexpected';
  constructor(code: 'TRELLIS_ERR_TRANSPORT_HEADER_REQUIRED' | 'TRELLIS_ERR_DIRECT_NO_IDENTITY' | 'TRELLIS_ERR_TRANSPORT_HEADER_TIMEOUT', message: string) {
    super(code, message);
  }
}
