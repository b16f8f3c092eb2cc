// The ServiceProfile route stage (docs/reference/linkerd-proxy.md §5 "Retries" B, "Timeouts"; §6 route metrics),
// the same for HTTP/1, HTTP/2 and gRPC: the request's profile route (the first whose match fits; none: the default
// route), then three stages around the one attempt-and-relay: route metrics (route_request_total once,
// route_actual_* per attempt, route_response_total and latency at the end), the route timeout (a fatal 504 until
// the response head), and retries of failed responses (by the route's classes) on a retryable route while the
// profile's budget allows, with the body buffered up to 64 KiB so it can be sent again.
import { asProxyError } from '../errors.ts';
import type { Downstream } from '../http/exchange.ts';
import type { RetryBudget } from '../profiles/budget.ts';
import { countRoute, isRouteFailure, type RouteSeries } from '../profiles/metrics.ts';
import { bufferForRetry, RouteTimeoutError, sendWithRetries, type AttemptResult } from '../profiles/retry.ts';
import type { CompiledRoute } from '../profiles/routes.ts';
import type { Body, EndpointClient, MeshPick, PickObserver, UpResponse } from './endpoint-client.ts';
import { InFlight, sendAttempt } from './attempt.ts';
import { relay } from './relay.ts';

/** What the stage needs of a profile-routed target (outbound/mesh-upstream.ts). */
export interface ProfileTarget {
  readonly client: EndpointClient;
  /** The profile route of a request (undefined: none matched, or no profile). */
  profileRoute(method: string, target: string): CompiledRoute | undefined;
  series(route: CompiledRoute | undefined): RouteSeries | undefined;
  budget(): RetryBudget;
  pick(request?: PickObserver): Promise<MeshPick>;
}

/** Routes one request of a profile-routed target (or a known pod: no profile, no route) and answers the client. */
export function routeByProfile(d: Downstream, t: ProfileTarget): void {
  const route = t.profileRoute(d.method, d.target);
  const series = t.series(route);
  countRoute(d.ex, route, series);
  const flight = new InFlight(d);
  const timeout = routeTimeout(d, route, flight);
  const onAttempt = (res: UpResponse) => series?.response(res.status, isRouteFailure(route, res.status, res.grpcStatus)).actual?.inc();
  const answer = (r: { res: UpResponse; p: MeshPick }) => {
    clearTimeout(timeout);
    flight.settled();
    relay(d, r.res, r.p);
  };
  const failed = (err: unknown) => {
    if (!d.ex.finished) d.ex.fail(asProxyError(err, d.ex.entry.target.addr));
  };
  if (!route?.retryable) {
    // One attempt, with as few promise turns as the pick allows.
    const body: Body = d.body ? { kind: 'stream', prefix: EMPTY, rest: d.body } : NONE;
    flight
      .pick(() => t.pick(d.ex))
      .then((p) => {
        series?.actualRequests?.inc();
        return sendAttempt(d, t.client, p, d.headers, body, flight).then((res) => {
          onAttempt(res);
          answer({ res, p });
        });
      })
      .catch(failed);
    return;
  }
  const buffering = d.body ? bufferForRetry(d.body, d.declaredLength) : Promise.resolve(undefined);
  buffering
    .then((b) => {
      const body: Body = !d.body ? NONE : b?.replayable ? { kind: 'buffer', data: b.body } : { kind: 'stream', prefix: b?.prefix ?? EMPTY, rest: b?.rest };
      const attempt = async (first: boolean) => {
        const p = await flight.pick(() => t.pick(first ? d.ex : undefined));
        series?.actualRequests?.inc();
        const res = await sendAttempt(d, t.client, p, d.headers, body, flight);
        onAttempt(res);
        return { res, p };
      };
      const send = async (i: number): Promise<AttemptResult<{ res: UpResponse; p: MeshPick }>> => {
        const r = await attempt(i === 0);
        return { status: r.res.status, ...(r.res.grpcStatus !== undefined ? { grpcStatus: r.res.grpcStatus } : {}), response: r };
      };
      // The failed attempt is the one in flight: cancelled, its endpoint given back.
      const discard = () => flight.cancel();
      return sendWithRetries({ route, budget: t.budget(), replayable: body.kind !== 'stream', send, discard, onRetryable: (allowed) => series?.retryable(allowed).inc() });
    })
    .then((r) => answer(r.response), failed);
}

const EMPTY = Buffer.alloc(0);
const NONE: Body = { kind: 'none' };

/** The route timeout: covers every attempt until a response head comes; then the request fails with 504. */
function routeTimeout(d: Downstream, route: CompiledRoute | undefined, flight: InFlight): NodeJS.Timeout | undefined {
  const ms = route?.timeoutMs ?? 0;
  if (!route || ms <= 0) return undefined;
  const timer = setTimeout(() => {
    if (d.ex.finished || d.headersSent) return;
    flight.cancel();
    d.ex.fail(new RouteTimeoutError(route.name, ms));
  }, ms);
  d.ex.onFinish(() => clearTimeout(timer));
  return timer;
}
