import { describe, expect, it } from 'vitest';
import { applyClientId, applyClientIdRaw } from './client-id.ts';

describe('l5d-client-id', () => {
  it('sets the verified identity, replacing what the client sent', () => {
    const h: Record<string, string | string[] | undefined> = { 'l5d-client-id': 'spoofed' };
    applyClientId(h, 'web.ns.serviceaccount.identity.trellis.cluster.local');
    expect(h['l5d-client-id']).toBe('web.ns.serviceaccount.identity.trellis.cluster.local');
  });
  it('strips a client-sent value when there is no verified identity', () => {
    const h: Record<string, string | string[] | undefined> = { 'l5d-client-id': 'spoofed', host: 'x' };
    applyClientId(h, '');
    expect(h).toEqual({ host: 'x' });
  });
  it('rewrites raw header lists whatever the case of the name', () => {
    expect(applyClientIdRaw(['Host', 'x', 'L5D-Client-Id', 'spoofed', 'l5d-client-id', 'again'], 'a.b')).toEqual(['Host', 'x', 'l5d-client-id', 'a.b']);
    expect(applyClientIdRaw(['L5D-Client-Id', 'spoofed'], undefined)).toEqual([]);
  });
});
