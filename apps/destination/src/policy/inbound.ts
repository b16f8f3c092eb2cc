// The inbound policy of one pod port (contracts §4): the default policy from the pod's or namespace's
// annotation or the cluster default, a Server's protocol when one selects the port, with the
// authorizations that apply to it (AuthorizationPolicies, ServerAuthorizations, then its accessPolicy;
// none means nothing is allowed), its HTTPRoutes/GRPCRoutes with their own authorizations (or else the
// default and probe routes), and authenticated-only variants on require-identity ports.
import { durationFromMillis, type inbound, type metadata } from '@trellis/proto';
import { DEFAULT_POLICIES, type DefaultPolicy, type DestinationConfig } from '../config.ts';
import { parsePortList } from '../discovery/ports.ts';
import { httpMethod } from '../discovery/profile.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import { selectorMatches, type PodRecord, type ServerRecord } from '../index/model.ts';
import { routeAuthorizations, serverAuthorizations } from './authz.ts';
import { networks } from './networks.ts';
import { byAgeThenName, isServerRef, type RouteFilter, type RouteRecord } from './routes.ts';

export const DETECT_TIMEOUT_MS = 10_000;
const ALL_NETWORKS = ['0.0.0.0/0', '::/0'];

const defaultMeta = (name: string): metadata.Metadata => ({ kind: { $case: 'default', value: name } });

function isDefaultPolicy(v: string | undefined): v is DefaultPolicy {
  return v !== undefined && (DEFAULT_POLICIES as readonly string[]).includes(v);
}

/** The default policy for a pod: its annotation, else its namespace's, else the cluster default. */
export function podDefaultPolicy(cfg: DestinationConfig, index: ClusterIndex, pod: PodRecord): DefaultPolicy {
  if (isDefaultPolicy(pod.defaultInboundPolicy)) return pod.defaultInboundPolicy;
  const ns = index.namespace(pod.namespace)?.defaultInboundPolicy;
  return isDefaultPolicy(ns) ? ns : cfg.defaultPolicy;
}

function authenticated(policy: DefaultPolicy): DefaultPolicy {
  if (policy === 'all-unauthenticated' || policy === 'audit') return 'all-authenticated';
  if (policy === 'cluster-unauthenticated') return 'cluster-authenticated';
  return policy;
}

const UNAUTHENTICATED: inbound.Authn = { permit: { $case: 'unauthenticated', value: {} } };
const ANY_MESH_TLS: inbound.Authn = {
  permit: { $case: 'meshTLS', value: { clients: { $case: 'identities', value: { identities: [], suffixes: [{ parts: [] }] } } } },
};

function authz(name: string, nets: readonly string[], authentication: inbound.Authn): inbound.Authz {
  return { networks: networks(nets), authentication, labels: { group: '', kind: 'default', name }, metadata: defaultMeta(name) };
}

export function defaultAuthorizations(cfg: DestinationConfig, policy: DefaultPolicy): inbound.Authz[] {
  switch (policy) {
    case 'all-unauthenticated':
    case 'audit':
      return [authz(policy, ALL_NETWORKS, UNAUTHENTICATED)];
    case 'all-authenticated':
      return [authz(policy, ALL_NETWORKS, ANY_MESH_TLS)];
    case 'cluster-unauthenticated':
      return [authz(policy, cfg.clusterNetworks, UNAUTHENTICATED)];
    case 'cluster-authenticated':
      return [authz(policy, cfg.clusterNetworks, ANY_MESH_TLS)];
    case 'deny':
      return [];
  }
}

function probePaths(pod: PodRecord, port: number): string[] {
  const paths = pod.probes
    .filter((p) => (typeof p.port === 'number' ? p.port === port : pod.containerPorts.some((c) => c.name === p.port && c.port === port)))
    .map((p) => p.path);
  return [...new Set(paths)].sort();
}

export function httpRoutes(cfg: DestinationConfig, pod: PodRecord, port: number): inbound.HttpRoute[] {
  const routes: inbound.HttpRoute[] = [
    { metadata: defaultMeta('default'), hosts: [], authorizations: [], rules: [{ matches: [{ path: { kind: { $case: 'prefix', value: '/' } }, headers: [], queryParams: [], method: undefined }], filters: [] }] },
  ];
  const paths = probePaths(pod, port);
  if (paths.length > 0 && cfg.probeNetworks.length > 0) {
    routes.push({
      metadata: defaultMeta('probe'),
      hosts: [],
      authorizations: [authz('probe', cfg.probeNetworks, UNAUTHENTICATED)],
      rules: [{ matches: paths.map((p) => ({ path: { kind: { $case: 'exact', value: p } }, headers: [], queryParams: [], method: httpMethod('GET') })), filters: [] }],
    });
  }
  return routes;
}

function grpcRoutes(): inbound.GrpcRoute[] {
  return [{ metadata: defaultMeta('default'), hosts: [], authorizations: [], rules: [{ matches: [], filters: [] }] }];
}

/** The Server (oldest name first, for a stable choice) that selects this pod and port, if any. */
export function selectingServer(index: ClusterIndex, pod: PodRecord, port: number): ServerRecord | undefined {
  return index
    .serversIn(pod.namespace)
    .filter((s) => s.podSelector && selectorMatches(s.podSelector, pod.labels))
    .filter((s) => (typeof s.port === 'number' ? s.port === port : pod.containerPorts.some((c) => c.name === s.port && c.port === port)))
    .sort((a, b) => a.name.localeCompare(b.name))[0];
}

/** Routes attached to a Server (parentRef kind Server in its namespace), oldest first. */
function serverRoutes(index: ClusterIndex, server: ServerRecord): RouteRecord[] {
  return index
    .routesOfServer(server.namespace, server.name)
    .filter((r) => r.error === undefined && r.namespace === server.namespace && r.parentRefs.some((p) => isServerRef(p) && p.namespace === server.namespace && p.name === server.name))
    .sort(byAgeThenName);
}

const routeMeta = (r: RouteRecord): metadata.Metadata => ({ kind: { $case: 'resource', value: { group: r.group, kind: r.kind, name: r.name, namespace: '', section: '', port: 0 } } });

// Inbound routes carry request-side filters only.
function inboundHttpFilters(filters: readonly RouteFilter[]): inbound.HttpRoute_Filter[] {
  return filters.flatMap((f): inbound.HttpRoute_Filter[] =>
    f.type === 'requestHeaderModifier' ? [{ kind: { $case: 'requestHeaderModifier', value: f.value } }] : f.type === 'redirect' ? [{ kind: { $case: 'redirect', value: f.value } }] : [],
  );
}

function inboundHttpRoute(cfg: DestinationConfig, index: ClusterIndex, r: RouteRecord): inbound.HttpRoute {
  return {
    metadata: routeMeta(r),
    hosts: [...r.hosts],
    authorizations: routeAuthorizations(cfg, index, r),
    rules: r.rules.map((rule) => ({ matches: [...rule.httpMatches], filters: inboundHttpFilters(rule.filters) })),
  };
}

function inboundGrpcRoute(cfg: DestinationConfig, index: ClusterIndex, r: RouteRecord): inbound.GrpcRoute {
  return {
    metadata: routeMeta(r),
    hosts: [...r.hosts],
    authorizations: routeAuthorizations(cfg, index, r),
    rules: r.rules.map((rule) => ({
      matches: [...rule.grpcMatches],
      filters: rule.filters.flatMap((f): inbound.GrpcRoute_Filter[] => (f.type === 'requestHeaderModifier' ? [{ kind: { $case: 'requestHeaderModifier', value: f.value } }] : [])),
    })),
  };
}

export function inboundServer(cfg: DestinationConfig, index: ClusterIndex, pod: PodRecord, port: number): inbound.Server {
  const server = selectingServer(index, pod, port);
  let policy: DefaultPolicy = server ? (isDefaultPolicy(server.accessPolicy) ? server.accessPolicy : 'deny') : podDefaultPolicy(cfg, index, pod);
  if (parsePortList(pod.requireIdentityPorts).set.has(port)) policy = authenticated(policy);
  const attached = server ? serverRoutes(index, server) : [];
  const attachedHttp = attached.filter((r) => r.kind === 'HTTPRoute');
  const attachedGrpc = attached.filter((r) => r.kind === 'GRPCRoute');
  // Routes on the Server replace the default and probe routes (probes then need a route of their own, as in Linkerd).
  const routes = attachedHttp.length > 0 ? attachedHttp.map((r) => inboundHttpRoute(cfg, index, r)) : httpRoutes(cfg, pod, port);
  const detect = (): inbound.ProxyProtocol => ({ kind: { $case: 'detect', value: { timeout: durationFromMillis(DETECT_TIMEOUT_MS), httpRoutes: routes, httpLocalRateLimit: undefined } } });
  let protocol: inbound.ProxyProtocol;
  if (server) {
    switch (server.proxyProtocol) {
      case 'HTTP/1':
        protocol = { kind: { $case: 'http1', value: { routes, localRateLimit: undefined } } };
        break;
      case 'HTTP/2':
        protocol = { kind: { $case: 'http2', value: { routes, localRateLimit: undefined } } };
        break;
      case 'gRPC':
        protocol = { kind: { $case: 'grpc', value: { routes: attachedGrpc.length > 0 ? attachedGrpc.map((r) => inboundGrpcRoute(cfg, index, r)) : grpcRoutes() } } };
        break;
      case 'opaque':
        protocol = { kind: { $case: 'opaque', value: {} } };
        break;
      case 'TLS':
        protocol = { kind: { $case: 'tls', value: {} } };
        break;
      default:
        protocol = detect();
    }
  } else {
    const opaque = parsePortList(pod.opaquePorts, (n) => pod.containerPorts.filter((c) => c.name === n).map((c) => c.port)).set.has(port);
    protocol = opaque ? { kind: { $case: 'opaque', value: {} } } : detect();
  }
  return {
    protocol,
    serverIps: [],
    authorizations: server ? [...serverAuthorizations(cfg, index, server), ...defaultAuthorizations(cfg, policy)] : defaultAuthorizations(cfg, policy),
    labels: server ? { group: 'policy.linkerd.io', kind: 'server', name: server.name } : { group: '', kind: 'default', name: policy },
  };
}
