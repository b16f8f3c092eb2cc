// ServiceProfile retries and timeouts (docs/reference/linkerd-proxy.md §5 "Retries" B, "Timeouts"): a failed response (by
// the route's classes) on a retryable route is retried at once while the budget allows, if the request body
// was buffered (at most 64 KiB); raw errors are not retried. The route timeout covers all attempts and ends
// the request with a fatal 504.
import type { Readable } from 'node:stream';
import { GRPC_DEADLINE_EXCEEDED, ProxyError } from '../errors.ts';
import type { RetryBudget } from './budget.ts';
import type { CompiledRoute } from './routes.ts';

export const MAX_REPLAY_BYTES = 64 * 1024;

export class RouteTimeoutError extends ProxyError {
  readonly httpStatus = 504;
  readonly grpcStatus = GRPC_DEADLINE_EXCEEDED;
  readonly errorLabel = 'response timeout';
  constructor(route: string, ms: number) {
    super('TRELLIS_ERR_ROUTE_TIMEOUT', `route ${route || 'default'} timed out after ${ms}ms`);
  }
}

export type BufferedBody =
  /** The whole body, small enough to send again. */
  | { readonly replayable: true; readonly body: Buffer }
  /** Too large (declared or actual): `prefix` was read already and `rest` streams the remainder. */
  | { readonly replayable: false; readonly prefix: Buffer; readonly rest: Readable | undefined };

/** Reads a request body for replay, unless its declared length is already over the cap. */
export function bufferForRetry(body: Readable, declaredLength: number | undefined, max = MAX_REPLAY_BYTES): Promise<BufferedBody> {
  if (declaredLength !== undefined && declaredLength > max) return Promise.resolve({ replayable: false, prefix: Buffer.alloc(0), rest: body });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', reject);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > max) {
        cleanup();
        body.pause();
        resolve({ replayable: false, prefix: Buffer.concat(chunks, size), rest: body });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ replayable: true, body: Buffer.concat(chunks, size) });
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', reject);
  });
}

export interface AttemptResult<R> {
  readonly status: number;
  readonly grpcStatus?: number;
  readonly response: R;
}

export interface RetryOptions<R> {
  readonly route: CompiledRoute | undefined;
  readonly budget: RetryBudget;
  /** False when the body could not be buffered: the first answer is final. */
  readonly replayable: boolean;
  /** Sends one attempt; a thrown error is final (not retried). */
  readonly send: (attempt: number) => Promise<AttemptResult<R>>;
  /** Drops a failed response that is about to be retried. */
  readonly discard: (r: R) => void;
  readonly onAttempt?: (r: AttemptResult<R>, attempt: number) => void;
  /** A retryable failure: whether the budget allowed another attempt (route_retryable_total). */
  readonly onRetryable?: (allowed: boolean) => void;
}

export async function sendWithRetries<R>(o: RetryOptions<R>): Promise<AttemptResult<R> & { attempts: number }> {
  o.budget.deposit();
  for (let attempt = 0; ; attempt++) {
    const r = await o.send(attempt);
    o.onAttempt?.(r, attempt);
    const failed = o.route ? o.route.isFailure(r.status, r.grpcStatus) : false;
    if (!failed || !o.route?.retryable || !o.replayable) return { ...r, attempts: attempt + 1 };
    const allowed = o.budget.withdraw();
    o.onRetryable?.(allowed);
    if (!allowed) return { ...r, attempts: attempt + 1 };
    o.discard(r.response);
  }
}

/** Runs `work` under the route timeout (none when 0); on expiry calls `cancel` and rejects with a 504. */
export function withRouteTimeout<T>(route: CompiledRoute | undefined, work: Promise<T>, cancel: () => void): Promise<T> {
  const ms = route?.timeoutMs ?? 0;
  if (ms <= 0) return work;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cancel();
      reject(new RouteTimeoutError(route?.name ?? '', ms));
    }, ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e as Error);
      },
    );
  });
}
