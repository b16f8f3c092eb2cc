import { describe, expect, it } from 'vitest';
import { connectFor, tlsAcceptLabels, tlsConnectLabels } from './labels.ts';

describe('TLS metric labels', () => {
  it('labels accepted connections as Linkerd does', () => {
    expect(tlsAcceptLabels({ kind: 'meshed', clientId: 'web.ns.serviceaccount.identity.trellis.cluster.local' })).toEqual({ tls: 'true', client_id: 'web.ns.serviceaccount.identity.trellis.cluster.local' });
    expect(tlsAcceptLabels({ kind: 'meshed', clientId: '' })).toEqual({ tls: 'true', client_id: '' });
    expect(tlsAcceptLabels({ kind: 'passthrough', sni: 'api.example.com' })).toEqual({ tls: 'opaque', sni: 'api.example.com' });
    expect(tlsAcceptLabels({ kind: 'plaintext', reason: 'no_tls_from_remote' })).toEqual({ tls: 'no_identity', no_tls_reason: 'no_tls_from_remote' });
  });
  it('labels opened connections by what discovery said about the endpoint', () => {
    expect(tlsConnectLabels(connectFor({ identity: 'a.b' }, false))).toEqual({ tls: 'true', server_id: 'a.b' });
    expect(tlsConnectLabels(connectFor({ identity: undefined }, false))).toEqual({ tls: 'no_identity', no_tls_reason: 'not_provided_by_service_discovery' });
    expect(tlsConnectLabels(connectFor({ identity: 'a.b' }, true))).toEqual({ tls: 'no_identity', no_tls_reason: 'loopback' });
  });
});
