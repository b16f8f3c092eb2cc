// Inbound policy metrics (docs/reference/linkerd-contracts.md §9.2): inbound_http_authz_{allow,deny}_total, inbound_http_route_not_found_total
// and inbound_tcp_authz_{allow,deny,terminate}_total, labelled as Linkerd labels them: target_addr, target_ip,
// target_port, srv_{group,kind,name,port}, then route_* (HTTP), then authz_* (allows), then the TLS labels of
// the accepted connection. An allowed request is also counted in the endpoint metrics (request_total, ...) under
// its server, route and authorization. Series are rendered once per (target, route or server, authorization)
// and kept on the compiled policy objects, so a request costs two map lookups.
import type { CounterChild } from '../../metrics/families.ts';
import { labelText } from '../../metrics/families.ts';
import type { EndpointMetrics, ProxyMetrics } from '../../metrics/proxy-metrics.ts';
import type { TargetEntry } from '../../tcp/targets.ts';
import type { Authorization, Meta } from './authz.ts';

export interface HttpPermitSeries {
  readonly allow: CounterChild;
  readonly endpoint: EndpointMetrics;
}

const INBOUND = labelText({ direction: 'inbound' });
const routeText = (m: Meta) => labelText({ route_group: m.group, route_kind: m.kind, route_name: m.name });
const authzText = (m: Meta) => labelText({ authz_group: m.group, authz_kind: m.kind, authz_name: m.name });

type PerEntry<K extends object, V> = WeakMap<TargetEntry, WeakMap<K, V>>;

function inner<K extends object, V>(m: PerEntry<K, V>, e: TargetEntry): WeakMap<K, V> {
  let x = m.get(e);
  if (!x) m.set(e, (x = new WeakMap()));
  return x;
}

/** What a series is labelled by: the server of the policy that decided, not the one the connection began under. */
interface ServerRef {
  readonly meta: Meta;
}

function parts(e: TargetEntry, server: ServerRef): { target: string; tls: string; srv: string } {
  const p = e.target.policyParts;
  if (!p) throw new Error(`target ${e.target.addr} is not an inbound target`);
  const m = server.meta;
  return { target: p.target, tls: p.tls, srv: labelText({ srv_group: m.group, srv_kind: m.kind, srv_name: m.name, srv_port: String(e.target.port) }) };
}

export class InboundAuthzMetrics {
  readonly #m: ProxyMetrics;
  readonly #httpAllow: PerEntry<object, Map<Authorization, HttpPermitSeries>> = new WeakMap();
  readonly #httpDeny: PerEntry<object, CounterChild> = new WeakMap();
  readonly #notFound: PerEntry<object, CounterChild> = new WeakMap();
  readonly #tcpAllow: PerEntry<object, Map<Authorization, CounterChild>> = new WeakMap();
  readonly #tcpDeny: PerEntry<object, CounterChild> = new WeakMap();
  readonly #tcpTerminate: PerEntry<object, CounterChild> = new WeakMap();
  readonly #rateLimited: PerEntry<object, Map<string, CounterChild>> = new WeakMap();

  constructor(m: ProxyMetrics) {
    this.#m = m;
  }

  /** `route` identifies the route (its compiled rule policy, owned by `server`); `routeMeta` names it. */
  httpAllow(e: TargetEntry, server: ServerRef, route: object, routeMeta: Meta, authz: Authorization): HttpPermitSeries {
    const byRoute = inner(this.#httpAllow, e);
    let byAuthz = byRoute.get(route);
    if (!byAuthz) byRoute.set(route, (byAuthz = new Map()));
    let s = byAuthz.get(authz);
    if (!s) {
      const p = parts(e, server);
      const r = routeText(routeMeta);
      const a = authzText(authz.meta);
      s = {
        allow: this.#m.authz.httpAllow.child([p.target, p.srv, r, a, p.tls].join(',')),
        endpoint: this.#m.endpoint([INBOUND, p.target, p.tls, p.srv, r, a].join(',')),
      };
      byAuthz.set(authz, s);
    }
    return s;
  }

  httpDeny(e: TargetEntry, server: ServerRef, route: object, routeMeta: Meta): CounterChild {
    const byRoute = inner(this.#httpDeny, e);
    let c = byRoute.get(route);
    if (!c) {
      const p = parts(e, server);
      byRoute.set(route, (c = this.#m.authz.httpDeny.child([p.target, p.srv, routeText(routeMeta), p.tls].join(','))));
    }
    return c;
  }

  routeNotFound(e: TargetEntry, server: ServerRef): CounterChild {
    return this.#serverSeries(this.#notFound, e, server, () => this.#m.authz.httpRouteNotFound);
  }

  /** `limit`: the server's rate limit object; `meta` names its policy when the controller did. */
  rateLimited(e: TargetEntry, server: ServerRef, limit: object, meta: Meta | undefined, scope: string): CounterChild {
    const byLimit = inner(this.#rateLimited, e);
    let byScope = byLimit.get(limit);
    if (!byScope) byLimit.set(limit, (byScope = new Map()));
    let c = byScope.get(scope);
    if (!c) {
      const p = parts(e, server);
      const rl = meta ? labelText({ ratelimit_group: meta.group, ratelimit_kind: meta.kind, ratelimit_name: meta.name, ratelimit_scope: scope }) : labelText({ ratelimit_scope: scope });
      byScope.set(scope, (c = this.#m.authz.httpRateLimited.child([p.target, p.srv, rl, p.tls].join(','))));
    }
    return c;
  }

  tcpAllow(e: TargetEntry, server: ServerRef, authz: Authorization): CounterChild {
    const byServer = inner(this.#tcpAllow, e);
    let byAuthz = byServer.get(server);
    if (!byAuthz) byServer.set(server, (byAuthz = new Map()));
    let c = byAuthz.get(authz);
    if (!c) {
      const p = parts(e, server);
      byAuthz.set(authz, (c = this.#m.authz.tcpAllow.child([p.target, p.srv, authzText(authz.meta), p.tls].join(','))));
    }
    return c;
  }

  tcpDeny(e: TargetEntry, server: ServerRef): CounterChild {
    return this.#serverSeries(this.#tcpDeny, e, server, () => this.#m.authz.tcpDeny);
  }

  tcpTerminate(e: TargetEntry, server: ServerRef): CounterChild {
    return this.#serverSeries(this.#tcpTerminate, e, server, () => this.#m.authz.tcpTerminate);
  }

  #serverSeries(m: PerEntry<object, CounterChild>, e: TargetEntry, server: ServerRef, family: () => ProxyMetrics['authz']['tcpDeny']): CounterChild {
    const byServer = inner(m, e);
    let c = byServer.get(server);
    if (!c) {
      const p = parts(e, server);
      byServer.set(server, (c = family().child([p.target, p.srv, p.tls].join(','))));
    }
    return c;
  }
}
