// Inbound authorizations (contracts §1.9, §4): AuthorizationPolicy (targetRef Server, Namespace or
// HTTPRoute/GRPCRoute; requiredAuthenticationRefs to MeshTLSAuthentication, NetworkAuthentication or
// ServiceAccounts) and the older ServerAuthorization, read into slim records and turned into Authz
// messages for a Server or a route. Client identities are named as our identity service issues them:
// `<sa>.<ns>.serviceaccount.identity.<control-plane-ns>.<trust-domain>`.
import { ipAddressFromString, ipNetworkFromString, type inbound, type net } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import { labelSelector, selectorMatches, type CustomObject, type LabelSelector, type ServerRecord } from '../index/model.ts';
import { normalGroup, type RouteRecord } from './routes.ts';

export const POLICY_GROUP = 'policy.linkerd.io';

export interface ObjectRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export interface NetworkSpec {
  readonly net: net.IPNetwork;
  readonly except: readonly net.IPNetwork[];
}

export interface AuthorizationPolicyRecord {
  readonly namespace: string;
  readonly name: string;
  readonly target: ObjectRef;
  readonly authentications: readonly ObjectRef[];
}

export interface MeshTLSAuthenticationRecord {
  readonly namespace: string;
  readonly name: string;
  readonly identities: readonly string[];
  readonly identityRefs: readonly ObjectRef[];
}

export interface NetworkAuthenticationRecord {
  readonly namespace: string;
  readonly name: string;
  readonly networks: readonly NetworkSpec[];
  /** Set when a network cannot be read; the authentication then matches nothing. */
  readonly error: string | undefined;
}

export interface ServerAuthorizationRecord {
  readonly namespace: string;
  readonly name: string;
  readonly serverName: string | undefined;
  readonly serverSelector: LabelSelector | undefined;
  /** undefined: the cluster networks. */
  readonly networks: readonly NetworkSpec[] | undefined;
  readonly unauthenticated: boolean;
  readonly meshTLS: { readonly unauthenticatedTLS: boolean; readonly identities: readonly string[]; readonly serviceAccounts: readonly { name: string; namespace: string }[] } | undefined;
  readonly error: string | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const specOf = (obj: CustomObject): Obj => (isObj(obj.spec) ? obj.spec : {});
const ident = (obj: CustomObject) => ({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' });

function objectRef(v: unknown, ns: string): ObjectRef {
  const o = isObj(v) ? v : {};
  return { group: normalGroup(str(o['group'])), kind: str(o['kind']) ?? '', namespace: str(o['namespace']) || ns, name: str(o['name']) ?? '' };
}

/** A CIDR, or a single address as a /32 or /128 network. */
export function network(cidr: string): net.IPNetwork {
  if (cidr.includes('/')) return ipNetworkFromString(cidr);
  const ip = ipAddressFromString(cidr);
  return { ip, prefixLen: ip.ip?.$case === 'ipv4' ? 32 : 128 };
}

function networks(v: unknown): NetworkSpec[] {
  return list(v).map((n) => {
    const o = isObj(n) ? n : {};
    return { net: network(str(o['cidr']) ?? ''), except: list(o['except']).map((e) => network(String(e))) };
  });
}

export function authorizationPolicyRecord(obj: CustomObject): AuthorizationPolicyRecord {
  const { namespace, name } = ident(obj);
  const spec = specOf(obj);
  return { namespace, name, target: objectRef(spec['targetRef'], namespace), authentications: list(spec['requiredAuthenticationRefs']).map((r) => objectRef(r, namespace)) };
}

export function meshTLSAuthenticationRecord(obj: CustomObject): MeshTLSAuthenticationRecord {
  const { namespace, name } = ident(obj);
  const spec = specOf(obj);
  return { namespace, name, identities: list(spec['identities']).map(String), identityRefs: list(spec['identityRefs']).map((r) => objectRef(r, namespace)) };
}

export function networkAuthenticationRecord(obj: CustomObject): NetworkAuthenticationRecord {
  const { namespace, name } = ident(obj);
  try {
    return { namespace, name, networks: networks(specOf(obj)['networks']), error: undefined };
  } catch (err) {
    return { namespace, name, networks: [], error: (err as Error).message };
  }
}

export function serverAuthorizationRecord(obj: CustomObject): ServerAuthorizationRecord {
  const { namespace, name } = ident(obj);
  const spec = specOf(obj);
  const server = isObj(spec['server']) ? spec['server'] : {};
  const client = isObj(spec['client']) ? spec['client'] : {};
  const mtls = isObj(client['meshTLS']) ? client['meshTLS'] : undefined;
  const base = {
    namespace,
    name,
    serverName: str(server['name']),
    serverSelector: isObj(server['selector']) ? labelSelector(server['selector']) : undefined,
    unauthenticated: client['unauthenticated'] === true,
    meshTLS: mtls && {
      unauthenticatedTLS: mtls['unauthenticatedTLS'] === true,
      identities: list(mtls['identities']).map(String),
      serviceAccounts: list(mtls['serviceAccounts']).map((sa) => {
        const o = isObj(sa) ? sa : {};
        return { name: str(o['name']) ?? '', namespace: str(o['namespace']) || namespace };
      }),
    },
  };
  try {
    return { ...base, networks: client['networks'] === undefined ? undefined : networks(client['networks']), error: undefined };
  } catch (err) {
    return { ...base, networks: undefined, error: (err as Error).message };
  }
}

// ---- to the wire

const ALL: NetworkSpec[] = [network('0.0.0.0/0'), network('::/0')].map((n) => ({ net: n, except: [] }));

export function identityName(cfg: DestinationConfig, sa: string, ns: string): string {
  return `${sa}.${ns}.serviceaccount.identity.${cfg.controllerNamespace}.${cfg.identityTrustDomain}`;
}

interface Clients {
  readonly names: Set<string>;
  readonly suffixes: string[][];
}

/** `*` is every identity, `*.a.b` a suffix, anything else one exact name. */
function addIdentity(c: Clients, id: string): void {
  if (id === '*') c.suffixes.push([]);
  else if (id.startsWith('*.')) c.suffixes.push(id.slice(2).split('.'));
  else c.names.add(id);
}

function meshTLS(c: Clients): inbound.Authn {
  return {
    permit: {
      $case: 'meshTLS',
      value: { clients: { $case: 'identities', value: { identities: [...c.names].sort().map((name) => ({ name })), suffixes: c.suffixes.map((parts) => ({ parts })) } } },
    },
  };
}

const clusterNets = (cfg: DestinationConfig): NetworkSpec[] => cfg.clusterNetworks.map((c) => ({ net: network(c), except: [] }));

// An empty network list would match nothing on the proxy; Linkerd sends the cluster networks instead.
function authz(cfg: DestinationConfig, kind: 'authorizationpolicy' | 'serverauthorization', name: string, nets: readonly NetworkSpec[], authentication: inbound.Authn): inbound.Authz {
  return {
    networks: (nets.length > 0 ? nets : clusterNets(cfg)).map((n) => ({ net: n.net, except: [...n.except] })),
    authentication,
    labels: { group: POLICY_GROUP, kind, name },
    metadata: { kind: { $case: 'resource', value: { group: POLICY_GROUP, kind, name, namespace: '', section: '', port: 0 } } },
  };
}

const is = (r: ObjectRef, group: string, kind: string) => r.group.toLowerCase() === group && r.kind.toLowerCase() === kind;

/**
 * The Authz of an AuthorizationPolicy, or undefined when it cannot be used (Linkerd ignores it then): an
 * authentication is missing or unusable, or there is more than one source of identities (MeshTLSAuthentication
 * or ServiceAccount) or more than one NetworkAuthentication. An empty list is ignored too (it authorizes nobody):
 * the policy-validator refuses one, and one stored before the validator ran stays harmless. Linkerd would read
 * it as every client from anywhere.
 */
function policyAuthz(cfg: DestinationConfig, index: ClusterIndex, p: AuthorizationPolicyRecord): inbound.Authz | undefined {
  if (p.authentications.length === 0) return undefined;
  let clients: Clients | undefined;
  let nets: readonly NetworkSpec[] | undefined;
  for (const ref of p.authentications) {
    if (is(ref, POLICY_GROUP, 'meshtlsauthentication')) {
      const m = index.meshTLSAuthentication(ref.namespace, ref.name);
      if (!m || clients) return undefined;
      clients = { names: new Set(), suffixes: [] };
      for (const id of m.identities) addIdentity(clients, id);
      for (const r of m.identityRefs) {
        if (is(r, 'core', 'serviceaccount')) clients.names.add(identityName(cfg, r.name, r.namespace));
        // A Namespace stands for every service account in it.
        else if (is(r, 'core', 'namespace')) clients.suffixes.push([r.name, 'serviceaccount', 'identity', cfg.controllerNamespace, ...cfg.identityTrustDomain.split('.')]);
        else return undefined;
      }
      if (clients.names.size === 0 && clients.suffixes.length === 0) return undefined;
    } else if (is(ref, 'core', 'serviceaccount')) {
      if (clients) return undefined;
      clients = { names: new Set([identityName(cfg, ref.name, ref.namespace)]), suffixes: [] };
    } else if (is(ref, POLICY_GROUP, 'networkauthentication')) {
      const n = index.networkAuthentication(ref.namespace, ref.name);
      if (!n || n.error !== undefined || nets) return undefined;
      nets = n.networks;
    } else {
      return undefined;
    }
  }
  // Without identities any client (TLS or not) is allowed; without networks, from anywhere.
  const authentication: inbound.Authn = clients ? meshTLS(clients) : { permit: { $case: 'unauthenticated', value: {} } };
  return authz(cfg, 'authorizationpolicy', p.name, nets ?? ALL, authentication);
}

function serverAuthz(cfg: DestinationConfig, s: ServerAuthorizationRecord): inbound.Authz | undefined {
  if (s.error !== undefined) return undefined;
  const nets = s.networks ?? [];
  if (s.unauthenticated) return authz(cfg, 'serverauthorization', s.name, nets, { permit: { $case: 'unauthenticated', value: {} } });
  if (!s.meshTLS) return undefined;
  if (s.meshTLS.unauthenticatedTLS) return authz(cfg, 'serverauthorization', s.name, nets, { permit: { $case: 'meshTLS', value: { clients: { $case: 'unauthenticated', value: {} } } } });
  const clients: Clients = { names: new Set(), suffixes: [] };
  for (const id of s.meshTLS.identities) addIdentity(clients, id);
  for (const sa of s.meshTLS.serviceAccounts) clients.names.add(identityName(cfg, sa.name, sa.namespace));
  // One that names no client authorizes nobody; Linkerd drops it.
  if (clients.names.size === 0 && clients.suffixes.length === 0) return undefined;
  return authz(cfg, 'serverauthorization', s.name, nets, meshTLS(clients));
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Authorizations of a Server: its ServerAuthorizations and the AuthorizationPolicies on it or its namespace. */
export function serverAuthorizations(cfg: DestinationConfig, index: ClusterIndex, server: ServerRecord): inbound.Authz[] {
  const out: inbound.Authz[] = [];
  for (const p of [...index.authorizationPoliciesIn(server.namespace)].sort(byName)) {
    const t = p.target;
    // Targets live in the policy's own namespace (a Namespace target names that namespace).
    const targets = (is(t, POLICY_GROUP, 'server') && t.name === server.name && t.namespace === server.namespace) || (is(t, 'core', 'namespace') && t.name === server.namespace);
    const a = targets ? policyAuthz(cfg, index, p) : undefined;
    if (a) out.push(a);
  }
  for (const s of [...index.serverAuthorizationsIn(server.namespace)].sort(byName)) {
    // Without a name, the selector picks Servers by label (an absent selector, like an empty one, picks all).
    const selects = s.serverName !== undefined ? s.serverName === server.name : s.serverSelector === undefined || selectorMatches(s.serverSelector, server.labels);
    const a = selects ? serverAuthz(cfg, s) : undefined;
    if (a) out.push(a);
  }
  return out;
}

/** Authorizations of a route attached to a Server: the AuthorizationPolicies that target the route. */
export function routeAuthorizations(cfg: DestinationConfig, index: ClusterIndex, route: RouteRecord): inbound.Authz[] {
  return [...index.authorizationPoliciesIn(route.namespace)]
    .sort(byName)
    .filter((p) => is(p.target, route.group, route.kind.toLowerCase()) && p.target.name === route.name && p.target.namespace === route.namespace)
    .flatMap((p) => policyAuthz(cfg, index, p) ?? []);
}
