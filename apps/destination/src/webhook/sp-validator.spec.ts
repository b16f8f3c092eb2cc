import { describe, expect, it } from 'vitest';
import { review, serviceProfileProblem } from './sp-validator.ts';

const sp = (name: string, spec: unknown) => ({ apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name, namespace: 'books' }, spec });
const request = (object: unknown, operation = 'CREATE') => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: 'linkerd.io', version: 'v1alpha2', kind: 'ServiceProfile' }, operation, object } });

describe('serviceProfileProblem', () => {
  it('accepts a complete profile', () => {
    expect(
      serviceProfileProblem(
        sp('books.books.svc.cluster.local', {
          routes: [{ name: 'list', condition: { method: 'GET', pathRegex: '/books' }, responseClasses: [{ condition: { status: { min: 500 } }, isFailure: true }], timeout: '300ms' }],
          retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 10, ttl: '10s' },
          dstOverrides: [{ authority: 'books-v2.books.svc.cluster.local:80', weight: '500m' }],
        }),
        'cluster.local',
      ),
    ).toBeUndefined();
  });

  it.each([
    [sp('books', {}), 'must be named <service>.<namespace>.svc.cluster.local'],
    [sp('books.books.svc.other.domain', {}), 'must be named'],
    [sp('a.b.c.svc.cluster.local', {}), 'must be named'],
    [sp('books.books.svc.cluster.local', { route: [] }), 'unknown field(s) spec.route'],
    [sp('books.books.svc.cluster.local', { routes: [{ name: 'x' }] }), 'spec.routes[0].condition is required'],
    [sp('books.books.svc.cluster.local', { retryBudget: { retryRatio: 0.2 } }), 'spec.retryBudget.minRetriesPerSecond is required'],
    [sp('books.books.svc.cluster.local', { routes: [{ name: 'x', condition: { method: 'GET' }, timeout: '5 minutes' }] }), 'spec.routes[0].timeout'],
  ])('refuses %j: %s', (obj, message) => {
    expect(serviceProfileProblem(obj, 'cluster.local')).toContain(message);
  });
});

describe('review', () => {
  it('allows a valid profile, denies an invalid one with a message, and echoes the uid', () => {
    expect(review(request(sp('books.books.svc.cluster.local', {})), 'cluster.local')).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
    expect(review(request(sp('books', {})), 'cluster.local')).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u-1', allowed: false, status: { code: 400, reason: 'Invalid', message: 'ServiceProfile "books" must be named <service>.<namespace>.svc.cluster.local' } },
    });
  });

  it('allows deletes and other kinds, and denies a review without a uid', () => {
    expect(review(request(sp('bad', {}), 'DELETE'), 'cluster.local')).toMatchObject({ response: { allowed: true } });
    expect(review({ request: { uid: 'u', kind: { kind: 'Pod' }, operation: 'CREATE', object: {} } }, 'cluster.local')).toMatchObject({ response: { allowed: true } });
    expect(review({}, 'cluster.local')).toMatchObject({ response: { allowed: false } });
  });
});
