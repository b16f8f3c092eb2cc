// The balancer's errors (docs/reference/linkerd-proxy.md §5 "Queue and failfast"), in the proxy's catalogue.
import { GRPC_DEADLINE_EXCEEDED, GRPC_UNAVAILABLE, ProxyError } from '../errors.ts';

/** No endpoint became ready within the failfast timeout: 504 / DEADLINE_EXCEEDED. */
export class FailFastError extends ProxyError {
  readonly httpStatus = 504;
  readonly grpcStatus = GRPC_DEADLINE_EXCEEDED;
  readonly errorLabel = 'failfast';
  constructor(backend: string, ms: number) {
    super('TRELLIS_ERR_FAILFAST', `${backend}: no endpoint became ready within ${ms}ms (service in fail-fast)`);
  }
}

/** The balancer's queue is full, or its gate is shut after a failfast: 503 / UNAVAILABLE. */
export class BalancerShedError extends ProxyError {
  readonly httpStatus = 503;
  readonly grpcStatus = GRPC_UNAVAILABLE;
  readonly errorLabel = 'loadshed';
  constructor(backend: string, why: 'queue full' | 'in fail-fast') {
    super('TRELLIS_ERR_BALANCER_SHED', `${backend}: service unavailable (${why})`);
  }
}
