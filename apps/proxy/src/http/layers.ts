// The HTTP layers, one concern each.
import { performance } from 'node:perf_hooks';
import { asProxyError, LoadShedError } from '../errors.ts';
import type { Exchange, HttpLayer } from './exchange.ts';

function recordResponse(ex: Exchange): void {
  const series = ex.entry.endpoint.response(ex.status, ex.grpcStatus, ex.errorLabel);
  series.total.inc();
  series.latency.observe((ex.firstByteAt || performance.now()) - ex.startedAt);
}

/** request_total when the request starts; response_total and response_latency_ms when it ends. */
export const countRequests: HttpLayer = (next) => (ex) => {
  ex.entry.endpoint.requests.inc();
  ex.onFinish(recordResponse);
  next(ex);
};

/** Sheds load above `limit` requests in flight (503), as Linkerd's concurrency limit does. */
export function shedLoad(limit: number): HttpLayer {
  let inFlight = 0;
  const done = () => {
    inFlight--;
  };
  return (next) => (ex) => {
    if (inFlight >= limit) {
      ex.fail(new LoadShedError(limit));
      return;
    }
    inFlight++;
    ex.onFinish(done);
    next(ex);
  };
}

/** Anything thrown below becomes a synthesized error instead of an unhandled exception. */
export const rescue: HttpLayer = (next) => (ex) => {
  try {
    next(ex);
  } catch (err) {
    ex.fail(asProxyError(err, ex.entry.target.addr));
  }
};
