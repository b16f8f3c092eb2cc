import { describe, expect, it } from 'vitest';
import { identityName, serviceAccountFromUsername } from './identity-name.ts';

describe('identity names', () => {
  it('derives <sa>.<ns>.serviceaccount.identity.<cp-ns>.<trust-domain>', () => {
    expect(identityName({ namespace: 'emojivoto', name: 'web' }, 'trellis', 'cluster.local')).toBe('web.emojivoto.serviceaccount.identity.trellis.cluster.local');
  });

  it('reads service accounts from TokenReview usernames', () => {
    expect(serviceAccountFromUsername('system:serviceaccount:emojivoto:web')).toEqual({ namespace: 'emojivoto', name: 'web' });
  });

  it.each([
    'system:serviceaccount:emojivoto',
    'system:serviceaccount:emojivoto:web:extra',
    'system:node:worker-1',
    'system:serviceaccount:Emojivoto:web',
    'system:serviceaccount:emojivoto:web.v2',
    'system:serviceaccount::web',
    'jane@example.com',
    '',
  ])('rejects %j', (u) => {
    expect(serviceAccountFromUsername(u)).toBeUndefined();
  });
});
