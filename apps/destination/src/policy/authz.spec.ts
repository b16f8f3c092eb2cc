import { ipNetworkToString } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { authorizationPolicyRecord, identityName, meshTLSAuthenticationRecord, network, networkAuthenticationRecord, serverAuthorizationRecord, serverAuthorizations } from './authz.ts';
import { defaultConfig } from '../config.ts';
import { ClusterIndex } from '../index/cluster-index.ts';
import { serverRecord } from '../index/model.ts';

const obj = (spec: object) => ({ metadata: { name: 'x', namespace: 'shop' }, spec });

describe('authorization records', () => {
  it('reads a single address as a host network', () => {
    expect(ipNetworkToString(network('192.168.0.1'))).toBe('192.168.0.1/32');
    expect(ipNetworkToString(network('fd00::1'))).toBe('fd00::1/128');
    expect(ipNetworkToString(network('10.0.0.0/8'))).toBe('10.0.0.0/8');
  });

  it('defaults reference namespaces to the object and the core group for an empty group', () => {
    const p = authorizationPolicyRecord(obj({ targetRef: { kind: 'Namespace', name: 'shop' }, requiredAuthenticationRefs: [{ kind: 'ServiceAccount', name: 'web' }] }));
    expect(p.target).toEqual({ group: 'core', kind: 'Namespace', namespace: 'shop', name: 'shop' });
    expect(p.authentications).toEqual([{ group: 'core', kind: 'ServiceAccount', namespace: 'shop', name: 'web' }]);
  });

  it('marks an authentication with a bad network unusable instead of throwing', () => {
    expect(networkAuthenticationRecord(obj({ networks: [{ cidr: '10.0.0.0/33' }] })).error).toContain('10.0.0.0/33');
    expect(serverAuthorizationRecord(obj({ server: { name: 's' }, client: { networks: [{ cidr: 'nope' }], unauthenticated: true } })).error).toBeDefined();
  });

  it('names identities as the identity service issues them', () => {
    expect(identityName(defaultConfig(), 'web', 'shop')).toBe('web.shop.serviceaccount.identity.trellis.cluster.local');
  });
});

describe('serverAuthorizations', () => {
  const cfg = defaultConfig();
  const named = (name: string, spec: object) => ({ metadata: { name, namespace: 'shop' }, spec });
  const policy = (name: string, refs: object[]) => authorizationPolicyRecord(named(name, { targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'srv' }, requiredAuthenticationRefs: refs }));
  const mtls = (name: string) => ({ group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name });
  const netRef = (name: string) => ({ group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name });

  it('ignores policies Linkerd ignores: two identity sources, two network authentications, none at all', () => {
    const index = new ClusterIndex();
    const server = serverRecord(named('srv', { podSelector: {}, port: 80 }));
    index.upsertServer(server);
    index.upsertMeshTLSAuthentication(meshTLSAuthenticationRecord(named('a', { identities: ['*'] })));
    index.upsertMeshTLSAuthentication(meshTLSAuthenticationRecord(named('b', { identities: ['x.y'] })));
    index.upsertNetworkAuthentication(networkAuthenticationRecord(named('n1', { networks: [{ cidr: '10.0.0.0/8' }] })));
    index.upsertNetworkAuthentication(networkAuthenticationRecord(named('n2', { networks: [{ cidr: '192.168.0.0/16' }] })));
    index.upsertAuthorizationPolicy(policy('two-mtls', [mtls('a'), mtls('b')]));
    index.upsertAuthorizationPolicy(policy('mtls-and-sa', [mtls('a'), { kind: 'ServiceAccount', name: 'web' }]));
    index.upsertAuthorizationPolicy(policy('two-nets', [netRef('n1'), netRef('n2')]));
    index.upsertAuthorizationPolicy(policy('empty', []));
    index.upsertAuthorizationPolicy(policy('ok', [mtls('a'), netRef('n1')]));
    const authz = serverAuthorizations(cfg, index, server);
    expect(authz.map((a) => a.labels['name'])).toEqual(['ok']);
    expect(authz[0]?.authentication?.permit).toEqual({ $case: 'meshTLS', value: { clients: { $case: 'identities', value: { identities: [], suffixes: [{ parts: [] }] } } } });
    expect(authz[0]?.networks.map((n) => (n.net ? ipNetworkToString(n.net) : ''))).toEqual(['10.0.0.0/8']);
  });

  it('reads ServerAuthorizations as Linkerd does: empty networks are the cluster networks, no clients means none', () => {
    const index = new ClusterIndex();
    const server = serverRecord(named('srv', { podSelector: {}, port: 80 }));
    const saz = (name: string, client: object) => index.upsertServerAuthorization(serverAuthorizationRecord(named(name, { server: { name: 'srv' }, client })));
    saz('a-nobody', { meshTLS: { identities: [] } });
    saz('b-any-tls', { networks: [], meshTLS: { unauthenticatedTLS: true } });
    saz('c-sa', { networks: [{ cidr: '10.1.0.0/16', except: ['10.1.1.1'] }], meshTLS: { serviceAccounts: [{ name: 'web' }, { name: 'job', namespace: 'batch' }] } });
    const authz = serverAuthorizations(cfg, index, server);
    expect(authz.map((a) => a.labels['name'])).toEqual(['b-any-tls', 'c-sa']);
    expect(authz[0]?.networks.map((n) => (n.net ? ipNetworkToString(n.net) : ''))).toEqual(cfg.clusterNetworks);
    expect(authz[0]?.authentication?.permit).toEqual({ $case: 'meshTLS', value: { clients: { $case: 'unauthenticated', value: {} } } });
    expect(authz[1]?.networks.map((n) => n.except.map(ipNetworkToString))).toEqual([['10.1.1.1/32']]);
    expect(authz[1]?.authentication?.permit).toEqual({
      $case: 'meshTLS',
      value: { clients: { $case: 'identities', value: { identities: [{ name: identityName(cfg, 'job', 'batch') }, { name: identityName(cfg, 'web', 'shop') }], suffixes: [] } } },
    });
  });
});
