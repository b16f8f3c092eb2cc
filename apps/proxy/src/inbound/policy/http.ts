// Inbound per-request policy (docs/reference/linkerd-proxy.md §4; docs/reference/linkerd-contracts.md §1.7, §1.9): the most specific rule among the
// port's current routes, then the first of its authorizations admitting the client (the route's own, then the
// server's), then the rule's filters in order: a failure injector answers with its status (or gRPC code) for
// its share of requests, a header modifier edits what is forwarded (add, set, remove), a redirect answers with
// a 3xx and Location; then the Server's rate limit (429). No route: 404 (gRPC NOT_FOUND); no authorization: 403 (gRPC PERMISSION_DENIED). Audit
// authorizations admit and are logged. An admitted request is counted under its server, route and authorization.
import type { Exchange, HttpLayer, RequestHead } from '../../http/exchange.ts';
import { requestFacts, selectRule, type RequestFacts } from '../../policy/match.ts';
import { authorize, isAudit, type Authorization, type Client, type Meta } from './authz.ts';
import { kInboundConn, type InboundConn, type WithInboundConn } from './conn.ts';
import { InvalidPolicyResponse, RateLimitedError, RedirectResponse, UnauthorizedRequestError } from './errors.ts';
import { InjectedFailureError, RouteNotFoundError } from '../../policy/route-errors.ts';
import type { InboundAuthzMetrics } from './metrics.ts';
import type { InboundPolicyLog } from './policies.ts';
import type { CompiledServer, RoutePolicy } from './server.ts';
import { redirectLocation, type HeaderModifier } from '../../policy/route-filters.ts';
import type { TargetEntry } from '../../tcp/targets.ts';

export interface InboundHttpDeps {
  readonly authz: InboundAuthzMetrics;
  readonly log: InboundPolicyLog;
  /** [0, 1); the failure injector's dice. */
  readonly random?: () => number;
}

export const metaText = (m: Meta) => (m.kind === 'default' ? `default:${m.name}` : `${m.group}/${m.kind}/${m.name}`);

function applyEdits(head: RequestHead, e: HeaderModifier): void {
  for (const [n, v] of e.add) head.addHeader(n, v);
  for (const [n, v] of e.set) head.setHeader(n, v);
  for (const n of e.remove) head.removeHeader(n);
}

function authorityOf(head: RequestHead): string | undefined {
  const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(head.target);
  if (abs) return abs[1];
  const a = head.headers[':authority'] ?? head.headers.host;
  return (Array.isArray(a) ? a[0] : a) || undefined;
}

export type Decision =
  | { readonly kind: 'allow'; readonly rule: RoutePolicy; readonly authz: Authorization; readonly facts: RequestFacts | undefined }
  | { readonly kind: 'deny'; readonly rule: RoutePolicy }
  | { readonly kind: 'notFound' }
  /** The port's Server could not be used: 500, before any route or authorization. */
  | { readonly kind: 'invalid'; readonly why: string };

/** The route and authorization of a request under a server, counted and logged as Linkerd does. */
export function decide(d: InboundHttpDeps, server: CompiledServer, client: Client, clientAddr: string, head: RequestHead, entry: TargetEntry): Decision {
  if (server.invalid !== undefined) return { kind: 'invalid', why: server.invalid };
  let rule: RoutePolicy | undefined = server.trivialRoute;
  let facts: RequestFacts | undefined;
  if (!rule) {
    facts = requestFacts(head.method, head.target, head.headers);
    rule = selectRule(server.routes, facts);
  }
  if (!rule) {
    d.authz.routeNotFound(entry, server).inc();
    return { kind: 'notFound' };
  }
  const authz = authorize(rule.authzs, client);
  if (!authz) {
    d.authz.httpDeny(entry, server, rule, rule.meta).inc();
    d.log.info({ srv: metaText(server.meta), route: metaText(rule.meta), client: clientAddr, tls: client.tls }, 'Request denied');
    return { kind: 'deny', rule };
  }
  if (isAudit(authz.meta)) d.log.info({ srv: metaText(server.meta), route: metaText(rule.meta), authz: metaText(authz.meta), client: clientAddr, tls: client.tls }, 'Request allowed');
  return { kind: 'allow', rule, authz, facts };
}

/** The HTTP layer; requests on connections without inbound policy state (outbound) pass untouched. */
export function authorizeRequests(d: InboundHttpDeps): HttpLayer {
  const random = d.random ?? Math.random;
  return (next) => (ex: Exchange) => {
    const head = ex.requestHead();
    const conn: InboundConn | undefined = (head.connection as WithInboundConn | undefined)?.[kInboundConn];
    if (!conn) return next(ex);
    const server = conn.policy.current;
    const decision = decide(d, server, conn.client, conn.clientAddr, head, ex.entry);
    if (decision.kind === 'notFound') return ex.fail(new RouteNotFoundError());
    if (decision.kind === 'deny') return ex.fail(new UnauthorizedRequestError(metaText(server.meta)));
    if (decision.kind === 'invalid') return ex.fail(new InvalidPolicyResponse(decision.why));
    const { rule, authz, facts } = decision;
    const series = d.authz.httpAllow(ex.entry, server, rule, rule.meta, authz);
    series.allow.inc();
    ex.endpointMetrics = series.endpoint;
    for (const f of rule.filters) {
      switch (f.kind) {
        case 'failure':
          if (random() < f.ratio) return ex.fail(new InjectedFailureError(f.status, f.grpc, f.message));
          break;
        case 'headers':
          applyEdits(head, f.edits);
          break;
        case 'redirect': {
          const rf = facts ?? requestFacts(head.method, head.target, head.headers);
          const loc = redirectLocation(f.redirect, { scheme: 'http', authority: authorityOf(head), path: rf.query ? `${rf.path}?${rf.query}` : rf.path }, rule.prefixes);
          if (loc instanceof Error) return ex.fail(new InvalidPolicyResponse(`invalid redirect: ${loc.message}`));
          return ex.fail(new RedirectResponse(f.redirect.status, loc));
        }
        case 'invalid':
          return ex.fail(new InvalidPolicyResponse(f.message));
      }
    }
    const limit = server.rateLimit;
    if (limit) {
      const tls = conn.client.tls;
      const scope = limit.check(tls?.kind === 'meshed' ? tls.clientId : '');
      if (scope) {
        d.authz.rateLimited(ex.entry, server, limit, limit.meta, scope).inc();
        return ex.fail(new RateLimitedError(scope));
      }
    }
    next(ex);
  };
}
