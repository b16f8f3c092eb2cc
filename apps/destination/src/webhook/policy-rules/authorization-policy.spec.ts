import { describe, expect, it } from 'vitest';
import { authorizationPolicyProblem } from './authorization-policy.ts';

const server = { group: 'policy.linkerd.io', kind: 'Server', name: 'web-http' };
const mtls = (name = 'vote-bot') => ({ group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name });
const nets = (name = 'cluster') => ({ group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name });
const sa = (name = 'web') => ({ kind: 'ServiceAccount', name });

describe('authorizationPolicyProblem', () => {
  it.each([
    ['a Server with a MeshTLSAuthentication and a NetworkAuthentication', { targetRef: server, requiredAuthenticationRefs: [mtls(), nets()] }],
    ['a ServiceAccount', { targetRef: server, requiredAuthenticationRefs: [sa()] }],
    ['its own Namespace', { targetRef: { kind: 'Namespace', name: 'shop' }, requiredAuthenticationRefs: [nets()] }],
    ['a policy HTTPRoute', { targetRef: { group: 'policy.linkerd.io', kind: 'HTTPRoute', name: 'r' }, requiredAuthenticationRefs: [sa()] }],
    ['a Gateway API HTTPRoute', { targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'r' }, requiredAuthenticationRefs: [sa()] }],
    ['a GRPCRoute, kinds in any case', { targetRef: { group: 'gateway.networking.k8s.io', kind: 'grpcroute', name: 'r' }, requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'meshtlsauthentication', name: 'm' }] }],
  ])('admits one that targets %s', (_, spec) => {
    expect(authorizationPolicyProblem(spec, 'shop')).toBeUndefined();
  });

  it.each([
    ['no targetRef', { requiredAuthenticationRefs: [sa()] }, 'spec.targetRef is required'],
    ['a Deployment target', { targetRef: { group: 'apps', kind: 'Deployment', name: 'web' }, requiredAuthenticationRefs: [sa()] }, 'spec.targetRef: kind Deployment.apps cannot be authorized'],
    ['another namespace', { targetRef: { kind: 'Namespace', name: 'other' }, requiredAuthenticationRefs: [sa()] }, 'cannot target another namespace ("other")'],
    ['no authentications', { targetRef: server }, 'spec.requiredAuthenticationRefs is required'],
    ['an empty list', { targetRef: server, requiredAuthenticationRefs: [] }, 'spec.requiredAuthenticationRefs is empty, so this policy would authorize nobody'],
    ['a Secret', { targetRef: server, requiredAuthenticationRefs: [{ kind: 'Secret', name: 's' }] }, 'spec.requiredAuthenticationRefs[0]: kind Secret is not an authentication'],
    ['a reference without a name', { targetRef: server, requiredAuthenticationRefs: [sa(), { group: 'policy.linkerd.io', kind: 'NetworkAuthentication' }] }, 'spec.requiredAuthenticationRefs[1].name is required'],
    ['two MeshTLSAuthentications', { targetRef: server, requiredAuthenticationRefs: [mtls('a'), mtls('b')] }, 'only one MeshTLSAuthentication may be set'],
    ['two ServiceAccounts', { targetRef: server, requiredAuthenticationRefs: [sa('a'), sa('b')] }, 'only one ServiceAccount may be set'],
    ['a MeshTLSAuthentication and a ServiceAccount', { targetRef: server, requiredAuthenticationRefs: [mtls(), sa()] }, 'a MeshTLSAuthentication and a ServiceAccount may not be set together'],
    ['two NetworkAuthentications', { targetRef: server, requiredAuthenticationRefs: [nets('a'), nets('b')] }, 'only one NetworkAuthentication may be set'],
  ])('refuses %s', (_, spec, message) => {
    expect(authorizationPolicyProblem(spec, 'shop')).toContain(message);
  });
});
