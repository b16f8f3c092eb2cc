// One inbound port's policy (docs/reference/linkerd-contracts.md §1.9 Server, §4 "Inbound Server response"), compiled from the
// controller's Server or built from LINKERD2_PROXY_INBOUND_DEFAULT_POLICY the way the controller builds its
// defaults. As Linkerd's proxy reads a Server: clients on the loopback addresses are always admitted
// (`default:localhost`, after the controller's authorizations); a route's authorizations come before the
// server's, which every route inherits; a protocol without routes gets one route matching every request.
import type { Cidr as ConfigCidr } from '@trellis/config';
import { durationFromMillis, durationToMillis, ipAddressToBytes, ipNetworkFromString, type grpcRoute, type httpRoute, type inbound } from '@trellis/proto';
import { grpcMatcher, hostMatcher, httpMatcher, InvalidMatchError, type Candidate } from '../../policy/match.ts';
import { headerModifier, prefixesOf, ratioOf, redirectOf, type HeaderModifier, type Redirect } from '../../policy/route-filters.ts';
import { rateLimitOf, type LocalRateLimit } from './ratelimit.ts';
import { compileAuthz, defaultMeta, InvalidPolicyError, LOCALHOST, metaFromLabels, metaOf, type Authorization, type Meta } from './authz.ts';

export type InboundProtocol = 'detect' | 'opaque' | 'tls' | 'http1' | 'http2' | 'grpc';

export type DefaultPolicyName = 'all-unauthenticated' | 'all-authenticated' | 'cluster-authenticated' | 'cluster-unauthenticated' | 'deny' | 'audit';

export type RouteFilter =
  | { readonly kind: 'failure'; readonly grpc: boolean; readonly status: number; readonly message: string; readonly ratio: number }
  | { readonly kind: 'headers'; readonly edits: HeaderModifier }
  | { readonly kind: 'redirect'; readonly redirect: Redirect }
  | { readonly kind: 'invalid'; readonly message: string };

/** What one rule of a route does: who may use it and which filters apply. */
export interface RoutePolicy {
  readonly meta: Meta;
  readonly authzs: readonly Authorization[];
  readonly filters: readonly RouteFilter[];
  /** The prefixes of the rule's prefix path matches (a prefix redirect replaces the one that matched). */
  readonly prefixes: readonly string[];
}

export interface CompiledServer {
  readonly meta: Meta;
  readonly protocol: InboundProtocol;
  /** Detect only: how long HTTP detection waits for the first bytes. */
  readonly detectTimeoutMs: number;
  /** Addresses the server answers on; empty: any of the pod's. */
  readonly serverIps: readonly Uint8Array[];
  /** Authorizations of connections that are not HTTP (opaque, TLS, or detected as not HTTP). */
  readonly tcpAuthzs: readonly Authorization[];
  /** HTTP routes (detect, http1, http2) or gRPC routes (grpc). */
  readonly routes: readonly Candidate<RoutePolicy>[];
  /** The only route matches every request and has no filters: matching can be skipped. */
  readonly trivialRoute: RoutePolicy | undefined;
  /** The HTTP local rate limit (detect, http1, http2), checked after authorization. */
  readonly rateLimit?: LocalRateLimit | undefined;
  /** Why the controller's Server was refused (HTTP requests get 500, connections are denied). */
  readonly invalid?: string;
}

const DEFAULT_ROUTE = defaultMeta('default');

function httpFilter(f: inbound.HttpRoute_Filter): RouteFilter {
  const k = f.kind;
  if (!k) return { kind: 'invalid', message: 'unknown HTTP route filter' };
  switch (k.$case) {
    case 'failureInjector':
      if (k.value.status < 100 || k.value.status > 599) throw new InvalidPolicyError(`failure injector status ${k.value.status} is not an HTTP status`);
      return { kind: 'failure', grpc: false, status: k.value.status, message: k.value.message, ratio: ratioOf(k.value.ratio) };
    case 'requestHeaderModifier':
      return { kind: 'headers', edits: headerModifier(k.value) };
    case 'redirect':
      return { kind: 'redirect', redirect: redirectOf(k.value) };
  }
}

function grpcFilter(f: inbound.GrpcRoute_Filter): RouteFilter {
  const k = f.kind;
  if (!k) return { kind: 'invalid', message: 'unknown gRPC route filter' };
  switch (k.$case) {
    case 'failureInjector':
      return { kind: 'failure', grpc: true, status: k.value.code, message: k.value.message, ratio: ratioOf(k.value.ratio) };
    case 'requestHeaderModifier':
      return { kind: 'headers', edits: headerModifier(k.value) };
  }
}

function routeMeta(m: inbound.HttpRoute['metadata'] | inbound.GrpcRoute['metadata']): Meta {
  const meta = metaOf(m);
  if (!meta) throw new InvalidPolicyError('route without metadata');
  return meta;
}

function httpRouteOf(r: inbound.HttpRoute, serverAuthzs: readonly Authorization[]): Candidate<RoutePolicy> {
  const meta = routeMeta(r.metadata);
  const authzs = [...r.authorizations.map(compileAuthz), ...serverAuthzs];
  return {
    host: hostMatcher(r.hosts),
    rules: r.rules.map((rule) => ({
      matches: rule.matches.map(httpMatcher),
      rule: { meta, authzs, filters: rule.filters.map(httpFilter), prefixes: prefixesOf(rule.matches) },
    })),
  };
}

function grpcRouteOf(r: inbound.GrpcRoute, serverAuthzs: readonly Authorization[]): Candidate<RoutePolicy> {
  const meta = routeMeta(r.metadata);
  const authzs = [...r.authorizations.map(compileAuthz), ...serverAuthzs];
  return {
    host: hostMatcher(r.hosts),
    rules: r.rules.map((rule: inbound.GrpcRoute_Rule) => ({
      matches: rule.matches.map((m: grpcRoute.GrpcRouteMatch) => grpcMatcher(m)),
      rule: { meta, authzs, filters: rule.filters.map(grpcFilter), prefixes: [] },
    })),
  };
}

/** Every request, the server's authorizations, no filters: what a protocol without routes gets. */
function defaultRoute(serverAuthzs: readonly Authorization[]): Candidate<RoutePolicy> {
  return { host: hostMatcher([]), rules: [{ matches: [], rule: { meta: DEFAULT_ROUTE, authzs: serverAuthzs, filters: [], prefixes: [] } }] };
}

/** A match every request meets (the controller's default route: prefix "/"), so matching can be skipped. */
function catchAll(m: httpRoute.HttpRouteMatch): boolean {
  const k = m.path?.kind;
  const path = k === undefined || (k.$case === 'prefix' && (k.value === '/' || k.value === ''));
  return path && m.method === undefined && m.headers.length === 0 && m.queryParams.length === 0;
}

function trivial(routes: readonly Candidate<RoutePolicy>[], hosts: number, matches: number): RoutePolicy | undefined {
  const only = routes.length === 1 ? routes[0]?.rules : undefined;
  if (!only || only.length !== 1 || hosts !== 0 || matches !== 0) return undefined;
  const rule = only[0]?.rule;
  return rule && rule.filters.length === 0 ? rule : undefined;
}

export interface CompileOptions {
  /** Admit loopback clients (servers from the controller, as Linkerd's proxy does); not for the proxy's own defaults. */
  readonly localhost: boolean;
}

function compile(s: inbound.Server, o: CompileOptions): CompiledServer {
  const kind = s.protocol?.kind;
  if (!kind) throw new InvalidPolicyError('server without a proxy protocol');
  const authzs = s.authorizations.map(compileAuthz);
  if (o.localhost) authzs.push(LOCALHOST);
  const meta = metaFromLabels(s.labels, 'policy.linkerd.io', 'server');
  const serverIps = s.serverIps.map((ip) => {
    try {
      return new Uint8Array(ipAddressToBytes(ip));
    } catch (err) {
      throw new InvalidPolicyError(`invalid server IP: ${(err as Error).message}`);
    }
  });
  let routes: Candidate<RoutePolicy>[] = [];
  let hosts = 0;
  let matches = 0;
  const http = (rs: readonly inbound.HttpRoute[]) => {
    for (const r of rs) {
      hosts += r.hosts.length;
      for (const rule of r.rules) matches += rule.matches.filter((m) => !catchAll(m)).length;
    }
    return rs.length === 0 ? [defaultRoute(authzs)] : rs.map((r) => httpRouteOf(r, authzs));
  };
  let protocol: InboundProtocol;
  let detectTimeoutMs = 0;
  switch (kind.$case) {
    case 'detect':
      protocol = 'detect';
      if (!kind.value.timeout) throw new InvalidPolicyError('detect protocol without a timeout');
      detectTimeoutMs = durationToMillis(kind.value.timeout);
      if (detectTimeoutMs < 0) throw new InvalidPolicyError('negative detect timeout');
      routes = http(kind.value.httpRoutes);
      break;
    case 'http1':
    case 'http2':
      protocol = kind.$case;
      routes = http(kind.value.routes);
      break;
    case 'grpc':
      protocol = 'grpc';
      for (const r of kind.value.routes) {
        hosts += r.hosts.length;
        for (const rule of r.rules) matches += rule.matches.length;
      }
      routes = kind.value.routes.length === 0 ? [defaultRoute(authzs)] : kind.value.routes.map((r) => grpcRouteOf(r, authzs));
      break;
    case 'opaque':
    case 'tls':
      protocol = kind.$case;
      break;
  }
  return { meta, protocol, detectTimeoutMs, serverIps, tcpAuthzs: authzs, routes, trivialRoute: trivial(routes, hosts, matches), rateLimit: rateLimitOf(kind) };
}

/** Compiles a Server; throws InvalidPolicyError naming what Linkerd would refuse. */
export function compileServer(s: inbound.Server, o: CompileOptions): CompiledServer {
  try {
    return compile(s, o);
  } catch (err) {
    if (err instanceof InvalidMatchError) throw new InvalidPolicyError(err.message);
    throw err;
  }
}

/**
 * What a port gets when its Server cannot be used: its name is `default:invalid`, HTTP requests are answered
 * with 500 (inbound/policy/http.ts) and other connections are refused (no authorization admits them).
 */
export function invalidServer(why: string, detectTimeoutMs: number): CompiledServer {
  return { meta: defaultMeta('invalid'), protocol: 'detect', detectTimeoutMs, serverIps: [], tcpAuthzs: [], routes: [], trivialRoute: undefined, invalid: why };
}

const ALL = ['0.0.0.0/0', '::/0'];

/**
 * The default policy as the controller describes it (docs/reference/linkerd-contracts.md §4 "Default policies"): one authorization named
 * after the policy (none for deny) on every network or on the cluster networks, unauthenticated or requiring
 * any mesh identity; protocol detection, or opaque for the pod's opaque ports.
 */
export function defaultServerMessage(name: DefaultPolicyName, clusterNetworks: readonly ConfigCidr[], detectTimeoutMs: number, opaque: boolean): inbound.Server {
  const cluster = name === 'cluster-authenticated' || name === 'cluster-unauthenticated';
  const meshed = name === 'all-authenticated' || name === 'cluster-authenticated';
  const nets = cluster ? clusterNetworks.map((c) => `${c.address}/${c.prefix}`) : ALL;
  const authorizations: inbound.Authz[] =
    name === 'deny'
      ? []
      : [
          {
            networks: nets.map((n) => ({ net: ipNetworkFromString(n), except: [] })),
            authentication: {
              permit: meshed
                ? { $case: 'meshTLS', value: { clients: { $case: 'identities', value: { identities: [], suffixes: [{ parts: [] }] } } } }
                : { $case: 'unauthenticated', value: {} },
            },
            labels: { group: '', kind: 'default', name },
            metadata: { kind: { $case: 'default', value: name } },
          },
        ];
  return {
    protocol: {
      kind: opaque
        ? { $case: 'opaque', value: {} }
        : { $case: 'detect', value: { timeout: durationFromMillis(detectTimeoutMs), httpRoutes: [], httpLocalRateLimit: undefined } },
    },
    serverIps: [],
    authorizations,
    labels: { group: '', kind: 'default', name },
  };
}

export function defaultServer(name: DefaultPolicyName, clusterNetworks: readonly ConfigCidr[], detectTimeoutMs: number, opaque: boolean): CompiledServer {
  return compileServer(defaultServerMessage(name, clusterNetworks, detectTimeoutMs, opaque), { localhost: false });
}

/** Is `ip` one the server answers on (any, when it lists none)? */
export function servesIp(s: CompiledServer, ip: Uint8Array | undefined): boolean {
  if (s.serverIps.length === 0) return true;
  if (!ip) return false;
  return s.serverIps.some((b) => b.length === ip.length && b.every((x, i) => x === ip[i]));
}

