import { describe, expect, it } from 'vitest';
import { meshTLSAuthenticationProblem, networkAuthenticationProblem, serverAuthorizationProblem } from './authentications.ts';

describe('meshTLSAuthenticationProblem', () => {
  it.each([
    [{ identities: ['web.shop.serviceaccount.identity.trellis.cluster.local', '*'] }],
    [{ identityRefs: [{ kind: 'ServiceAccount', name: 'web' }, { kind: 'Namespace', name: 'shop' }] }],
    [{ identities: ['spiffe://td/x'], identityRefs: [{ kind: 'ServiceAccount', name: 'web', namespace: 'other' }] }],
  ])('admits %j', (spec) => {
    expect(meshTLSAuthenticationProblem(spec)).toBeUndefined();
  });

  it.each([
    [{}, 'needs spec.identities or spec.identityRefs'],
    [{ identities: [] }, 'needs spec.identities or spec.identityRefs'],
    [{ identities: [''] }, 'spec.identities[0]: "" is not a valid identity'],
    [{ identities: ['ok.name', 'Not OK'] }, 'spec.identities[1]: "Not OK" is not a valid identity'],
    [{ identities: [7] }, 'spec.identities[0] must be a string'],
    [{ identityRefs: [{ kind: 'Deployment', group: 'apps', name: 'web' }] }, 'spec.identityRefs[0]: kind Deployment.apps names no identities'],
    [{ identityRefs: [{ kind: 'Namespace', name: 'shop', namespace: 'shop' }] }, 'spec.identityRefs[0].namespace: a Namespace is cluster-scoped'],
    [{ identityRefs: [{ kind: 'ServiceAccount' }] }, 'spec.identityRefs[0].name is required'],
  ])('refuses %j: %s', (spec, message) => {
    expect(meshTLSAuthenticationProblem(spec)).toContain(message);
  });
});

describe('networkAuthenticationProblem', () => {
  it.each([[{ networks: [{ cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.3.4'] }] }], [{ networks: [{ cidr: '0.0.0.0/0' }, { cidr: '::/0', except: ['fd00::/8'] }] }], [{ networks: [{ cidr: '192.168.1.7' }] }]])(
    'admits %j',
    (spec) => {
      expect(networkAuthenticationProblem(spec)).toBeUndefined();
    },
  );

  it.each([
    [{}, 'spec.networks: at least one network must be specified'],
    [{ networks: [] }, 'spec.networks: at least one network must be specified'],
    [{ networks: [{ cidr: '10.0.0.0/33' }] }, 'spec.networks[0].cidr: "10.0.0.0/33" is not a network'],
    [{ networks: [{ cidr: '10.0.0.0/8' }, { cidr: 'cluster' }] }, 'spec.networks[1].cidr: "cluster" is not a network'],
    [{ networks: [{ except: ['10.0.0.0/8'] }] }, 'spec.networks[0].cidr is required'],
    [{ networks: [{ cidr: '10.1.0.0/16', except: ['10.0.0.0/8'] }] }, 'spec.networks[0].except[0]: "10.0.0.0/8" covers all of cidr "10.1.0.0/16"'],
    [{ networks: [{ cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] }] }, 'spec.networks[0].except[0]: "192.168.0.0/16" is not inside cidr "10.0.0.0/8"'],
    [{ networks: [{ cidr: '10.0.0.0/8', except: ['fd00::/8'] }] }, 'is not inside cidr'],
    [{ networks: [{ cidr: '10.0.0.0/8', except: ['10.0.0.0/x'] }] }, 'spec.networks[0].except[0]: "10.0.0.0/x" is not a network'],
  ])('refuses %j: %s', (spec, message) => {
    expect(networkAuthenticationProblem(spec)).toContain(message);
  });
});

describe('serverAuthorizationProblem', () => {
  const server = { name: 'web-http' };
  it('admits a mesh TLS client list and an unauthenticated one', () => {
    expect(serverAuthorizationProblem({ server, client: { meshTLS: { serviceAccounts: [{ name: 'web' }] } } })).toBeUndefined();
    expect(serverAuthorizationProblem({ server, client: { unauthenticated: true, networks: [{ cidr: '10.0.0.0/8' }] } })).toBeUndefined();
  });

  it.each([
    [{ client: { unauthenticated: true } }, 'spec.server is required'],
    [{ server, client: { unauthenticated: true, meshTLS: { identities: ['*'] } } }, 'spec.client.unauthenticated must be false when spec.client.meshTLS is set'],
    [{ server, client: { meshTLS: { unauthenticatedTLS: true, identities: ['*'] } } }, 'spec.client.meshTLS.unauthenticatedTLS must be false'],
    [{ server, client: { unauthenticated: true, networks: [{ cidr: '10.0.0.0/8', except: ['11.0.0.0/8'] }] } }, 'spec.client.networks[0].except[0]: "11.0.0.0/8" is not inside cidr "10.0.0.0/8"'],
  ])('refuses %j: %s', (spec, message) => {
    expect(serverAuthorizationProblem(spec)).toContain(message);
  });
});
