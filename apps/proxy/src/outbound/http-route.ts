// The outbound route stage for HTTP: where each request of a meshed target goes, by the routes chosen for the
// target at its last watch update (outbound/routes.ts). A policy target's rules route it (outbound/policy/http.ts);
// a profile's routes (or a known pod's no-route) route the rest (outbound/profile-route.ts); both end in the one
// attempt-and-relay through the endpoint client. An HTTP/1 Upgrade or CONNECT, which its codec relays itself,
// goes to a balanced endpoint over that endpoint's HTTP/1 agent (upgrades are never carried over HTTP/2).
import { asProxyError } from '../errors.ts';
import type { Exchange } from '../http/exchange.ts';
import type { MeshPick, PickObserver } from './endpoint-client.ts';
import { forwardPolicy } from './policy/http.ts';
import type { RouteObserver } from './policy/metrics.ts';
import { routeByProfile, type ProfileTarget } from './profile-route.ts';
import { L5D_REQUIRE_ID, requiredIdentity } from './require-id.ts';
import { L5D_DST_CANONICAL } from '../profiles/routes.ts';
import type { TargetRoutes } from './routes.ts';

/** What the stage needs of a meshed target (outbound/mesh-upstream.ts). */
export interface RoutedTarget extends ProfileTarget {
  readonly routes: TargetRoutes;
  readonly policyObserver: RouteObserver | undefined;
  /** A ready endpoint for a request that does not go by route (a tunnel). */
  pick(request?: PickObserver): Promise<MeshPick>;
}

/** Routes one request of a meshed target. */
export function routeRequest(ex: Exchange, t: RoutedTarget): void {
  const routes = t.routes;
  const d = ex.downstream();
  if (routes.kind === 'profile') {
    // Set on the request being routed (a fresh header object), or, for a tunnel, on the head its codec sends.
    if (d) d.headers[L5D_DST_CANONICAL] = routes.canonical;
    else ex.requestHead().setHeader(L5D_DST_CANONICAL, routes.canonical);
  }
  if (!d) return tunnel(ex, t);
  if (routes.kind === 'policy') return forwardPolicy(d, t.client, routes.policy, { observer: t.policyObserver });
  routeByProfile(d, t);
}

/** An HTTP/1 tunnel (Upgrade, CONNECT) to a balanced endpoint, relayed by its codec over the endpoint's agent. */
function tunnel(ex: Exchange, t: RoutedTarget): void {
  t.pick(ex).then(
    (p) => {
      const refused = requiredIdentity(ex.requestHead().headers[L5D_REQUIRE_ID], p.me);
      if (refused) {
        p.done(true);
        return ex.fail(refused);
      }
      ex.onFinish((e) => p.done(e.errorLabel === '' && e.status > 0 && e.status < 500));
      const e = p.me.endpoint;
      ex.forward({ host: e.ip, port: e.port, agent: t.client.agent(p.me), firstByte: () => p.firstByte() });
    },
    (err: unknown) => ex.fail(asProxyError(err, ex.entry.target.addr)),
  );
}
