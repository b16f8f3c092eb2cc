import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { tap } from '@trellis/proto';
import { statusError, streamTap, tapPath, tapWarningText, type TapWarning } from './stream.ts';

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

describe('tap stream', () => {
  it('delivers the events before a closing Status line, then fails with its message', async () => {
    const event = tap.TapEvent.toJSON({ proxyDirection: 1, source: undefined, sourceMeta: undefined, destination: undefined, destinationMeta: undefined, routeMeta: undefined, event: undefined });
    const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 503, reason: 'ServiceUnavailable', message: 'cannot tap deployments/web in namespace emojivoto: the proxy of its pod failed on the tap port 4190 (web-0: connect ECONNREFUSED)' };
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(event)}\n${JSON.stringify(status)}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
      const seen: tap.TapEvent[] = [];
      await expect(streamTap(kc, { namespace: 'emojivoto', resource: 'deployments', name: 'web', maxRps: 1 }, (e) => seen.push(e))).rejects.toMatchObject({ code: 'TRELLIS_ERR_TAP_REFUSED', message: status.message });
      expect(seen.map((e) => e.proxyDirection)).toEqual([1]);
    } finally {
      server.close();
    }
  });

  it('passes a pod the tap API could not tap to onWarning and goes on with the events after it', async () => {
    const event = (direction: tap.TapEvent_ProxyDirection) => tap.TapEvent.toJSON({ proxyDirection: direction, source: undefined, sourceMeta: undefined, destination: undefined, destinationMeta: undefined, routeMeta: undefined, event: undefined });
    const warning = { kind: 'TapWarning', apiVersion: 'tap.linkerd.io/v1alpha1', namespace: 'emojivoto', pod: 'web-1', message: 'its proxy failed on the tap port 4190: connect ECONNREFUSED 10.244.0.13:4190' };
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(event(1))}\n${JSON.stringify(warning)}\n${JSON.stringify(event(2))}\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const kc = new KubeConfig();
      kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
      const seen: (number | TapWarning)[] = [];
      await streamTap(kc, { namespace: 'emojivoto', resource: 'deployments', name: 'web', maxRps: 1 }, (e) => seen.push(e.proxyDirection), undefined, (w) => seen.push(w));
      expect(seen).toEqual([1, { namespace: 'emojivoto', pod: 'web-1', message: warning.message }, 2]);
      expect(tapWarningText(seen[1] as TapWarning)).toBe('Warning: pod emojivoto/web-1 is not tapped: its proxy failed on the tap port 4190: connect ECONNREFUSED 10.244.0.13:4190 (the tap goes on with the other pods)');
    } finally {
      server.close();
    }
  });
});
