// The tap server's errors, with the gRPC status each is answered with (tap/server.ts).
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAUTHENTICATED = 16;

export class TapError extends Error {
  readonly code: string;
  readonly grpcStatus: number;
  constructor(code: string, grpcStatus: number, message: string) {
    super(message);
    this.code = code;
    this.grpcStatus = grpcStatus;
  }
}

/** An ObserveRequest that cannot be served: an empty match, a bad range or netmask, a zero limit. */
export class InvalidTapError extends TapError {
  constructor(message: string) {
    super('TRELLIS_ERR_TAP_INVALID', GRPC_INVALID_ARGUMENT, `invalid tap: ${message}`);
  }
}

/** A client that is not the tap controller: Linkerd answers Unauthenticated "Unauthorized client". */
export class UnauthorizedTapClientError extends TapError {
  constructor(message = 'Unauthorized client') {
    super('TRELLIS_ERR_TAP_UNAUTHORIZED', GRPC_UNAUTHENTICATED, message);
  }
}

/** A tap client that reads slower than the traffic it watches: its tap is closed, the traffic never waits. */
export class SlowTapClientError extends TapError {
  constructor(buffered: number) {
    super('TRELLIS_ERR_TAP_SLOW_CLIENT', GRPC_RESOURCE_EXHAUSTED, `tap closed: the client fell ${buffered} events behind`);
  }
}
