import { beforeAll, describe, expect, it } from 'vitest';
import { createMeshPki } from '../../test/mesh-pki.ts';
import { parseIdentityConfig } from './config.ts';
import { controlAddr, linkerdDuration } from './env.ts';

let base: Record<string, string>;
const baseOf = (anchor: string) => ({
  LINKERD2_PROXY_IDENTITY_DIR: '/var/run/linkerd/identity/end-entity',
  LINKERD2_PROXY_IDENTITY_TOKEN_FILE: '/var/run/secrets/tokens/linkerd-identity-token',
  LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: anchor,
  LINKERD2_PROXY_IDENTITY_LOCAL_NAME: 'web.emojivoto.serviceaccount.identity.trellis.cluster.local',
  LINKERD2_PROXY_IDENTITY_SVC_ADDR: 'trellis-identity-headless.trellis.svc.cluster.local.:8080',
  LINKERD2_PROXY_IDENTITY_SVC_NAME: 'trellis-identity.trellis.serviceaccount.identity.trellis.cluster.local',
});

beforeAll(async () => {
  base = baseOf((await createMeshPki()).trustAnchorsPem);
});

describe('parseIdentityConfig', () => {
  it('reads the injected variables with Linkerd defaults for the refresh bounds', () => {
    const c = parseIdentityConfig(base);
    expect(c.localName).toBe(base.LINKERD2_PROXY_IDENTITY_LOCAL_NAME);
    expect(c.svcAddr).toMatchObject({ host: 'trellis-identity-headless.trellis.svc.cluster.local.', port: 8080, loopback: false });
    expect(c.trustAnchors).toHaveLength(1);
    expect([c.minRefreshMs, c.maxRefreshMs]).toEqual([10_000, 86_400_000]);
  });
  it('names the variable when one is missing', () => {
    const { LINKERD2_PROXY_IDENTITY_TOKEN_FILE: _, ...rest } = base;
    expect(() => parseIdentityConfig(rest)).toThrow('LINKERD2_PROXY_IDENTITY_TOKEN_FILE is required');
  });
  it('refuses anchors that are not PEM certificates, naming the variable', () => {
    expect(() => parseIdentityConfig({ ...base, LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: 'nope' })).toThrow(/LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS/);
  });
  it('accepts SERVER_ID and SERVER_NAME when equal and refuses them when not', () => {
    const { LINKERD2_PROXY_IDENTITY_LOCAL_NAME: id = '', ...rest } = base;
    expect(parseIdentityConfig({ ...rest, LINKERD2_PROXY_IDENTITY_SERVER_ID: id, LINKERD2_PROXY_IDENTITY_SERVER_NAME: id }).localName).toBe(id);
    expect(() => parseIdentityConfig({ ...rest, LINKERD2_PROXY_IDENTITY_SERVER_ID: id, LINKERD2_PROXY_IDENTITY_SERVER_NAME: 'x.y' })).toThrow(/must be equal/);
  });
  it('needs no service name for a loopback address, which goes in plaintext', () => {
    const { LINKERD2_PROXY_IDENTITY_SVC_NAME: _, ...rest } = base;
    expect(parseIdentityConfig({ ...rest, LINKERD2_PROXY_IDENTITY_SVC_ADDR: 'localhost.:8080' }).svcAddr.loopback).toBe(true);
    // dialled without the trailing dot, which /etc/hosts lookups would not match
    expect(parseIdentityConfig({ ...rest, LINKERD2_PROXY_IDENTITY_SVC_ADDR: 'localhost.:8080' }).svcAddr.text).toBe('localhost:8080');
    expect(parseIdentityConfig({ ...base, LINKERD2_PROXY_IDENTITY_SVC_ADDR: 'trellis-identity-headless.trellis.svc.cluster.local.:8080' }).svcAddr.text).toBe(
      'trellis-identity-headless.trellis.svc.cluster.local.:8080',
    );
  });
  it('refuses a max refresh shorter than the min refresh', () => {
    expect(() => parseIdentityConfig({ ...base, LINKERD2_PROXY_IDENTITY_MIN_REFRESH: '1h', LINKERD2_PROXY_IDENTITY_MAX_REFRESH: '1m' })).toThrow(/LINKERD2_PROXY_IDENTITY_MAX_REFRESH/);
  });
});

describe('env values', () => {
  it('parses Linkerd durations and refuses bare numbers other than 0', () => {
    expect(linkerdDuration('X', '100ms')).toBe(100);
    expect(linkerdDuration('X', '365d')).toBe(365 * 86_400_000);
    expect(linkerdDuration('X', '0')).toBe(0);
    expect(() => linkerdDuration('X', '10')).toThrow(/X/);
  });
  it('parses control addresses and spots loopback ones', () => {
    expect(controlAddr('X', '[::1]:8086')).toMatchObject({ host: '::1', loopback: true, text: '[::1]:8086' });
    expect(controlAddr('X', '127.0.0.1:8080').loopback).toBe(true);
    expect(controlAddr('X', '10.0.0.1:8080').loopback).toBe(false);
    expect(() => controlAddr('X', 'no-port')).toThrow(/X/);
    expect(() => controlAddr('X', 'a..b:80')).toThrow(/neither/);
  });
});
