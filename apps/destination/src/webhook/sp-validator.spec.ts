import { describe, expect, it } from 'vitest';
import { serviceProfileProblem, serviceProfileValidator } from './sp-validator.ts';

const sp = (name: string, spec: unknown) => ({ apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name, namespace: 'books' }, spec });
const request = (object: unknown, operation = 'CREATE') => ({ uid: 'u-1', kind: { group: 'linkerd.io', version: 'v1alpha2', kind: 'ServiceProfile' }, operation, object });

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

describe('serviceProfileValidator', () => {
  const validate = serviceProfileValidator('cluster.local');

  it('admits a valid profile and refuses an invalid one with the reason', () => {
    expect(validate(request(sp('books.books.svc.cluster.local', {})))).toBeUndefined();
    expect(validate(request(sp('books', {})))).toBe('ServiceProfile "books" must be named <service>.<namespace>.svc.cluster.local');
  });

  it('admits deletes and other kinds', () => {
    expect(validate(request(sp('bad', {}), 'DELETE'))).toBeUndefined();
    expect(validate({ uid: 'u', kind: { kind: 'Pod' }, operation: 'CREATE', object: {} })).toBeUndefined();
  });
});
