import { describe, expect, it } from 'vitest';
import { apiMessage, tapPath } from './tap-stream.ts';

describe('tap request', () => {
  it('asks the tap API for the resource with the filters as query parameters', () => {
    expect(tapPath({ namespace: 'emojivoto', resource: 'deployments', name: 'web', toResource: 'deploy/voting', path: '/api/vote', method: 'POST', maxRps: 100 })).toBe(
      '/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/deployments/web/tap?toResource=deploy%2Fvoting&method=POST&path=%2Fapi%2Fvote&maxRps=100',
    );
    expect(tapPath({ namespace: 'emojivoto', resource: 'namespaces', name: '', maxRps: 1 })).toBe('/apis/tap.linkerd.io/v1alpha1/watch/namespaces/emojivoto/tap?maxRps=1');
  });

  it("shows the API's reason for a refusal, and says when the tap API is missing", () => {
    expect(apiMessage(403, JSON.stringify({ kind: 'Status', message: 'deployments.tap.linkerd.io "web" is forbidden: User "alice" cannot watch' }))).toMatch(/forbidden: User "alice"/);
    expect(apiMessage(404, JSON.stringify({ message: 'the server could not find the requested resource' }))).toMatch(/install the viz extension/);
    expect(apiMessage(502, 'bad gateway')).toBe('the tap API answered 502: bad gateway');
  });
});
