import { describe, expect, it } from 'vitest';
import { statusError, tapPath } from './stream.ts';

describe('tap request', () => {
  it('asks the tap API for the resource with the filters as query parameters', () => {
    expect(tapPath({ namespace: 'emojivoto', resource: 'deployments', name: 'web', toResource: 'deploy/voting', path: '/api/vote', method: 'POST', maxRps: 100 })).toBe(
      '/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/deployments/web/tap?toResource=deploy%2Fvoting&method=POST&path=%2Fapi%2Fvote&maxRps=100',
    );
    expect(tapPath({ namespace: 'emojivoto', resource: 'namespaces', name: '', maxRps: 1 })).toBe('/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/tap?maxRps=1');
  });

  it("shows the API's reason for a refusal, and says when the tap API is missing", () => {
    const forbidden = statusError(403, JSON.stringify({ kind: 'Status', message: 'deployments.tap.linkerd.io "web" is forbidden: User "alice" cannot watch' }));
    expect([forbidden.code, forbidden.message]).toEqual(['TRELLIS_ERR_TAP_FORBIDDEN', 'deployments.tap.linkerd.io "web" is forbidden: User "alice" cannot watch']);
    expect(statusError(404, JSON.stringify({ message: 'the server could not find the requested resource' })).message).toMatch(/install the viz extension/);
    expect(statusError(502, 'bad gateway')).toMatchObject({ code: 'TRELLIS_ERR_TAP_REFUSED', message: 'the tap API answered 502: bad gateway' });
  });
});
