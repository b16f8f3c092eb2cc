// The HTTP layers, one concern each.
import { performance } from 'node:perf_hooks';
import { asProxyError, LoadShedError } from '../errors.ts';
import type { Exchange, HttpLayer } from './exchange.ts';

function recordResponse(ex: Exchange): void {
  // A meshed request that never reached an endpoint (fail fast, for one) is in no endpoint's series, as in
  // Linkerd, where these are endpoint metrics; outbound_http_errors_total counts it.
  if (!ex.requestCounted) return;
  const series = ex.endpointMetrics.response(ex.status, ex.grpcStatus, ex.errorLabel);
  series.total.inc();
  series.latency.observe((ex.firstByteAt || performance.now()) - ex.startedAt);
}

/**
 * request_total when the request starts (meshed outbound: when the balancer picks its endpoint, whose labels it
 * takes); response_total and response_latency_ms when it ends.
 */
export const countRequests: HttpLayer = (next) => (ex) => {
  if (!ex.meshed) ex.countRequest();
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
