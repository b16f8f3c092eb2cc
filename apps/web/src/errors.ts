// The dashboard API's errors, each with a stable code; http/errors.ts maps them to statuses in one place.
import { TrellisError } from '@trellis/config';

/** A request parameter is missing or malformed: 400, naming the parameter and the value. */
export class BadRequestError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_BAD_REQUEST', message);
  }
}

/** The metrics API or Prometheus did not answer (refused, reset, timed out, DNS): 503, naming which and where. */
export class UpstreamUnreachableError extends TrellisError {
  constructor(upstream: string, url: string, why: string, cause?: unknown) {
    super('TRELLIS_ERR_UPSTREAM_UNREACHABLE', `${upstream} at ${url} is unreachable: ${why}`, { cause });
  }
}

/** The metrics API or Prometheus answered with something that is not its API's answer: 502. */
export class UpstreamAnswerError extends TrellisError {
  constructor(upstream: string, url: string, why: string) {
    super('TRELLIS_ERR_UPSTREAM_ANSWER', `${upstream} at ${url} gave no usable answer: ${why}`);
  }
}

/** fetch hides the reason in `cause` (ECONNREFUSED, ENOTFOUND ...); say it plainly. */
export function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  // fetch refuses some ports outright (its "bad port" list: 1, 9, 25, 6000 ...).
  if (e.cause?.message === 'bad port' || e.message === 'bad port') return 'fetch refuses to connect to this port (a blocked port); use another';
  if (e.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  return e.cause?.message ?? e.message ?? String(err);
}
