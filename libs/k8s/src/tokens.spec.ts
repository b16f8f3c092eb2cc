import { describe, expect, it } from 'vitest';
import { parseServiceAccountUsername } from './tokens.ts';

describe('parseServiceAccountUsername', () => {
  it('reads namespace and name from a service-account username', () => {
    expect(parseServiceAccountUsername('system:serviceaccount:emojivoto:web')).toEqual({ namespace: 'emojivoto', name: 'web' });
  });
  it('rejects other users and malformed names', () => {
    expect(parseServiceAccountUsername('system:admin')).toBeUndefined();
    expect(parseServiceAccountUsername('system:serviceaccount:emojivoto')).toBeUndefined();
    expect(parseServiceAccountUsername('system:serviceaccount:a:b:c')).toBeUndefined();
  });
});
