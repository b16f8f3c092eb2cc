import { ipNetworkFromString } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { authorize, cidrContains, cidrFromText, compileAuthz, InvalidPolicyError, ipBytes, isAuthorized, LOCALHOST, metaFromLabels, type Authorization, type Client } from './authz.ts';

const plain = (ip: string): Client => ({ ip: ipBytes(ip), tls: { kind: 'plaintext', reason: 'no_tls_from_remote' } });
const meshed = (ip: string, clientId: string): Client => ({ ip: ipBytes(ip), tls: { kind: 'meshed', clientId } });

function authzOf(o: { nets?: string[]; except?: string[]; permit: 'any' | 'tls' | { ids?: string[]; suffixes?: string[][] } }): Authorization {
  return compileAuthz({
    networks: (o.nets ?? ['0.0.0.0/0', '::/0']).map((n) => ({ net: ipNetworkFromString(n), except: (o.except ?? []).map(ipNetworkFromString) })),
    authentication: {
      permit:
        o.permit === 'any'
          ? { $case: 'unauthenticated', value: {} }
          : {
              $case: 'meshTLS',
              value: {
                clients:
                  o.permit === 'tls'
                    ? { $case: 'unauthenticated', value: {} }
                    : { $case: 'identities', value: { identities: (o.permit.ids ?? []).map((name) => ({ name })), suffixes: (o.permit.suffixes ?? []).map((parts) => ({ parts })) } },
              },
            },
    },
    labels: { name: 'a' },
    metadata: undefined,
  });
}

describe('inbound authorizations', () => {
  it('reads names as Linkerd does: kind and group labels, default:x and kind:x names, fallbacks', () => {
    expect(metaFromLabels({ group: '', kind: 'default', name: 'deny' }, 'policy.linkerd.io', 'server')).toEqual({ group: '', kind: 'default', name: 'deny' });
    expect(metaFromLabels({ name: 'default:all-unauthenticated' }, 'policy.linkerd.io', 'server')).toEqual({ group: '', kind: 'default', name: 'all-unauthenticated' });
    expect(metaFromLabels({ name: 'authorizationpolicy:web' }, 'policy.linkerd.io', 'serverauthorization')).toEqual({ group: 'policy.linkerd.io', kind: 'authorizationpolicy', name: 'web' });
    expect(metaFromLabels({ name: 'web' }, 'policy.linkerd.io', 'server')).toEqual({ group: 'policy.linkerd.io', kind: 'server', name: 'web' });
    expect(() => metaFromLabels({}, 'g', 'k')).toThrow(InvalidPolicyError);
  });

  it('parses client addresses, IPv4-mapped IPv6 as IPv4, and matches prefixes bit by bit', () => {
    expect(ipBytes('::ffff:10.1.2.3')).toEqual(Uint8Array.from([10, 1, 2, 3]));
    expect(ipBytes('fd00::1')?.length).toBe(16);
    expect(ipBytes('10.0.0.256')).toBeUndefined();
    expect(ipBytes('not-an-ip')).toBeUndefined();
    expect(cidrContains(cidrFromText('10.0.0.0/9'), ipBytes('10.127.255.255') as Uint8Array)).toBe(true);
    expect(cidrContains(cidrFromText('10.0.0.0/9'), ipBytes('10.128.0.0') as Uint8Array)).toBe(false);
    expect(cidrContains(cidrFromText('fd00::/8'), ipBytes('10.0.0.1') as Uint8Array)).toBe(false);
  });

  it('admits a network but not its exceptions', () => {
    const a = authzOf({ nets: ['10.0.0.0/8'], except: ['10.1.0.0/16'], permit: 'any' });
    expect(isAuthorized(a, plain('10.2.3.4'))).toBe(true);
    expect(isAuthorized(a, plain('10.1.3.4'))).toBe(false);
    expect(isAuthorized(a, plain('192.168.0.1'))).toBe(false);
  });

  it('meshTLS: any mesh client, or identities by exact name or by suffix; plaintext never', () => {
    const anyTls = authzOf({ permit: 'tls' });
    expect(isAuthorized(anyTls, meshed('10.0.0.1', ''))).toBe(true);
    expect(isAuthorized(anyTls, plain('10.0.0.1'))).toBe(false);
    const ids = authzOf({ permit: { ids: ['web.ns.serviceaccount.identity.trellis.cluster.local'], suffixes: [['other', 'serviceaccount', 'identity', 'trellis', 'cluster', 'local']] } });
    expect(isAuthorized(ids, meshed('10.0.0.1', 'web.ns.serviceaccount.identity.trellis.cluster.local'))).toBe(true);
    expect(isAuthorized(ids, meshed('10.0.0.1', 'a.other.serviceaccount.identity.trellis.cluster.local'))).toBe(true);
    expect(isAuthorized(ids, meshed('10.0.0.1', 'b.ns.serviceaccount.identity.trellis.cluster.local'))).toBe(false);
    expect(isAuthorized(ids, plain('10.0.0.1'))).toBe(false);
    // An empty suffix admits every identity, but still only over mTLS with one.
    const all = authzOf({ permit: { suffixes: [[]] } });
    expect(isAuthorized(all, meshed('10.0.0.1', 'x.y'))).toBe(true);
    expect(isAuthorized(all, meshed('10.0.0.1', ''))).toBe(false);
  });

  it('takes the first authorization that admits, and refuses authorizations Linkerd refuses', () => {
    const first = authzOf({ permit: 'tls' });
    expect(authorize([first, LOCALHOST], plain('127.0.0.1'))).toBe(LOCALHOST);
    expect(authorize([first, LOCALHOST], plain('127.0.0.2'))).toBeUndefined();
    expect(authorize([first, LOCALHOST], meshed('127.0.0.1', 'x'))).toBe(first);
    expect(() => compileAuthz({ networks: [], authentication: { permit: { $case: 'unauthenticated', value: {} } }, labels: { name: 'x' }, metadata: undefined })).toThrow('without networks');
    expect(() => compileAuthz({ networks: [{ net: ipNetworkFromString('0.0.0.0/0'), except: [] }], authentication: undefined, labels: { name: 'x' }, metadata: undefined })).toThrow('without authentication');
  });
});
