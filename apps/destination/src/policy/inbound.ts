// The inbound policy of one pod port (contracts §4): the default policy from the pod's or namespace's
// annotation or the cluster default, a Server's protocol and access policy when one selects the port,
// the default and probe HTTP routes, and authenticated-only variants on require-identity ports.
// AuthorizationPolicy and route resources are not read yet: a Server's port gets its accessPolicy only.
import { durationFromMillis, type inbound, type metadata } from '@trellis/proto';
import { DEFAULT_POLICIES, type DefaultPolicy, type DestinationConfig } from '../config.ts';
import { parsePortList } from '../discovery/ports.ts';
import { httpMethod } from '../discovery/profile.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import { selectorMatches, type PodRecord, type ServerRecord } from '../index/model.ts';
import { networks } from './networks.ts';

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

export function inboundServer(cfg: DestinationConfig, index: ClusterIndex, pod: PodRecord, port: number): inbound.Server {
  const server = selectingServer(index, pod, port);
  let policy: DefaultPolicy = server ? (isDefaultPolicy(server.accessPolicy) ? server.accessPolicy : 'deny') : podDefaultPolicy(cfg, index, pod);
  if (parsePortList(pod.requireIdentityPorts).set.has(port)) policy = authenticated(policy);
  const routes = httpRoutes(cfg, pod, port);
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
        protocol = { kind: { $case: 'grpc', value: { routes: grpcRoutes() } } };
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
    authorizations: defaultAuthorizations(cfg, policy),
    labels: server ? { group: 'policy.linkerd.io', kind: 'server', name: server.name } : { group: '', kind: 'default', name: policy },
  };
}
