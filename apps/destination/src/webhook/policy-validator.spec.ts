import { describe, expect, it } from 'vitest';
import { policyValidator, VALIDATED_KINDS } from './policy-validator.ts';

const validate = policyValidator({ listServers: async () => [] });
const req = (group: string, kind: string, object: unknown, operation = 'CREATE') => ({ uid: 'u', kind: { group, version: 'v1', kind }, operation, namespace: 'shop', object });
const ap = (spec: unknown) => ({ metadata: { name: 'web-authz', namespace: 'shop' }, spec });

describe('policyValidator', () => {
  it('names the object and the field in a denial', async () => {
    expect(await validate(req('policy.linkerd.io', 'AuthorizationPolicy', ap({ targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'web' }, requiredAuthenticationRefs: [] })))).toBe(
      'AuthorizationPolicy "web-authz": spec.requiredAuthenticationRefs is empty, so this policy would authorize nobody: name at least one MeshTLSAuthentication, NetworkAuthentication or ServiceAccount (to admit every client, reference a NetworkAuthentication of 0.0.0.0/0 and ::/0)',
    );
  });

  it('admits a valid object, and deletes of anything', async () => {
    expect(await validate(req('policy.linkerd.io', 'NetworkAuthentication', ap({ networks: [{ cidr: '10.0.0.0/8' }] })))).toBeUndefined();
    expect(await validate(req('policy.linkerd.io', 'NetworkAuthentication', ap({ networks: [] }), 'DELETE'))).toBeUndefined();
  });

  it('refuses an object without a spec, and kinds it does not handle', async () => {
    expect(await validate(req('gateway.networking.k8s.io', 'HTTPRoute', { metadata: { name: 'r' } }))).toBe('HTTPRoute "r": spec is required');
    expect(await validate(req('gateway.networking.k8s.io', 'TCPRoute', ap({})))).toBe("the policy validator does not handle TCPRoute.gateway.networking.k8s.io: take it out of the webhook's rules");
    expect(await validate({ uid: 'u', operation: 'CREATE', object: 'nonsense' })).toContain('does not handle (no kind).core');
  });

  it('judges every policy kind the index reads', () => {
    expect([...VALIDATED_KINDS].sort()).toEqual([
      'gateway.networking.k8s.io/grpcroute',
      'gateway.networking.k8s.io/httproute',
      'policy.linkerd.io/authorizationpolicy',
      'policy.linkerd.io/httproute',
      'policy.linkerd.io/meshtlsauthentication',
      'policy.linkerd.io/networkauthentication',
      'policy.linkerd.io/server',
      'policy.linkerd.io/serverauthorization',
    ]);
  });
});
