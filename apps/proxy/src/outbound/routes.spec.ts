import { destination } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import type { LogicalTarget, MeshEndpoint } from '../discovery/outbound.ts';
import { compileProfile } from '../profiles/routes.ts';
import type { PolicyTarget } from './policy/target.ts';
import { chooseRoutes, profileOverrides } from './routes.ts';

// Only the fields the choice reads: a service's logical name and its compiled profile.
function logical(profile: Parameters<typeof destination.DestinationProfile.fromPartial>[0]): LogicalTarget {
  const compiled = compileProfile(destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local', ...profile }));
  return { logical: 'books.default.svc.cluster.local:80', profile: compiled } as unknown as LogicalTarget;
}
const policy = { addr: '10.96.0.10:80' } as unknown as PolicyTarget;
const endpoint = { endpoint: { addr: '10.0.0.7:8080' }, h2: undefined } as unknown as MeshEndpoint;
const withRoutes = logical({ routes: [{ metricsLabels: { route: 'r' }, condition: { match: { $case: 'path', value: { regex: '/r' } } } }] });
const withOverrides = logical({ dstOverrides: [{ authority: 'books-v2.default.svc.cluster.local:80', weight: 1 }] });
const plain = logical({});

describe('the routes of a meshed target', () => {
  it('follows the policy unless the ServiceProfile has routes or dst_overrides', () => {
    expect(chooseRoutes(policy, plain, undefined)).toEqual({ kind: 'policy', policy, logical: plain });
    expect(chooseRoutes(policy, undefined, undefined).kind).toBe('policy');
    expect(chooseRoutes(policy, withRoutes, undefined)).toEqual({ kind: 'profile', logical: withRoutes, canonical: 'books.default.svc.cluster.local:80' });
    expect(chooseRoutes(policy, withOverrides, undefined).kind).toBe('profile');
    expect([plain, withRoutes, withOverrides].map(profileOverrides)).toEqual([false, true, true]);
  });

  it('routes a service by its profile without a policy, and a known pod to its one endpoint', () => {
    expect(chooseRoutes(undefined, plain, undefined)).toEqual({ kind: 'profile', logical: plain, canonical: 'books.default.svc.cluster.local:80' });
    expect(chooseRoutes(undefined, undefined, endpoint)).toEqual({ kind: 'endpoint', endpoint });
    expect(() => chooseRoutes(undefined, undefined, undefined)).toThrow(/needs a policy, a profile or an endpoint/);
  });
});
