import { destination, durationFromMillis, httpTypes } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { compileProfile, routeFor } from './routes.ts';

const GET = { type: { $case: 'registered' as const, value: httpTypes.HttpMethod_Registered.GET } };
const profile = compileProfile(
  destination.DestinationProfile.fromPartial({
    fullyQualifiedName: 'books.default.svc.cluster.local',
    routes: [
      {
        metricsLabels: { route: 'GET /books/{id}' },
        condition: { match: { $case: 'all', value: { matches: [{ match: { $case: 'method', value: GET } }, { match: { $case: 'path', value: { regex: '/books/\\d+' } } }] } } },
        isRetryable: true,
        timeout: durationFromMillis(250),
        responseClasses: [{ condition: { match: { $case: 'status', value: { min: 500, max: 504 } } }, isFailure: true }, { condition: { match: { $case: 'status', value: { min: 404, max: 0 } } }, isFailure: true }],
      },
      {
        metricsLabels: { route: 'not GET' },
        condition: { match: { $case: 'not', value: { match: { $case: 'method', value: GET } } } },
        responseClasses: [{ condition: { match: { $case: 'any', value: { matches: [{ match: { $case: 'status', value: { min: 500, max: 599 } } }] } } }, isFailure: false }],
      },
    ],
    dstOverrides: [{ authority: 'books-v1.default.svc.cluster.local:80', weight: 9000 }, { authority: 'books-v2.default.svc.cluster.local:80', weight: 1000 }, { authority: 'zero:80', weight: 0 }],
  }),
);

describe('profile routes', () => {
  it('matches method and whole-path regex together; first matching route wins', () => {
    expect(routeFor(profile, { method: 'GET', path: '/books/12' })?.name).toBe('GET /books/{id}');
    expect(routeFor(profile, { method: 'GET', path: '/books/12/pages' })).toBeUndefined();
    expect(routeFor(profile, { method: 'POST', path: '/books/12' })?.name).toBe('not GET');
  });
  it('carries rt_ labels, retryability and the timeout', () => {
    const r = routeFor(profile, { method: 'GET', path: '/books/1' });
    expect(r).toMatchObject({ labels: { rt_route: 'GET /books/{id}' }, retryable: true, timeoutMs: 250 });
  });
  it('classifies by the first matching response class, a single status when one bound is unset, else by default', () => {
    const r = routeFor(profile, { method: 'GET', path: '/books/1' });
    expect(r?.isFailure(503, undefined)).toBe(true);
    expect(r?.isFailure(404, undefined)).toBe(true);
    expect(r?.isFailure(405, undefined)).toBe(false);
    expect(r?.isFailure(599, undefined)).toBe(true); // default: 5xx
    expect(r?.isFailure(200, 14)).toBe(true); // default: gRPC UNAVAILABLE
    expect(r?.isFailure(200, 5)).toBe(false); // NOT_FOUND is a success for gRPC
    const post = routeFor(profile, { method: 'POST', path: '/' });
    expect(post?.isFailure(500, undefined)).toBe(false);
  });
  it('reads dst_overrides without zero weights and the default budget', () => {
    expect(profile.dstOverrides).toEqual([
      { authority: 'books-v1.default.svc.cluster.local:80', weight: 9000 },
      { authority: 'books-v2.default.svc.cluster.local:80', weight: 1000 },
    ]);
    expect(profile.budget).toEqual({ ratio: 0.2, minPerSecond: 10, ttlMs: 10_000 });
  });
  it('ignores routes of an opaque profile and never matches an invalid regex', () => {
    expect(compileProfile(destination.DestinationProfile.fromPartial({ opaqueProtocol: true, routes: [{ condition: { match: { $case: 'path', value: { regex: '.*' } } } }] })).routes).toEqual([]);
    const bad = compileProfile(destination.DestinationProfile.fromPartial({ routes: [{ condition: { match: { $case: 'path', value: { regex: '(' } } } }] }));
    expect(routeFor(bad, { method: 'GET', path: '(' })).toBeUndefined();
  });
});
