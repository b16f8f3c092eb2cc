import { ipNetworkToString } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { authorizationPolicyRecord, identityName, network, networkAuthenticationRecord, serverAuthorizationRecord } from './authz.ts';
import { defaultConfig } from '../config.ts';

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
