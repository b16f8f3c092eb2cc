import { parseCidrList } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { ipBytes, isAuthorized, type Client } from './authz.ts';
import { compileServer, defaultServer, defaultServerMessage } from './server.ts';

const CLUSTER = parseCidrList('X', '10.0.0.0/8,fd00::/8');
const plain = (ip: string): Client => ({ ip: ipBytes(ip), tls: { kind: 'plaintext', reason: 'no_tls_from_remote' } });
const meshed = (ip: string): Client => ({ ip: ipBytes(ip), tls: { kind: 'meshed', clientId: 'a.b' } });

describe('default inbound policies', () => {
  it('are built as the controller builds them: named after the policy, one authorization, detection', () => {
    for (const name of ['all-unauthenticated', 'all-authenticated', 'cluster-authenticated', 'cluster-unauthenticated', 'audit'] as const) {
      const s = defaultServer(name, CLUSTER, 10_000, false);
      expect(s.meta).toEqual({ group: '', kind: 'default', name });
      expect(s.protocol).toBe('detect');
      expect(s.detectTimeoutMs).toBe(10_000);
      expect(s.tcpAuthzs.map((a) => a.meta)).toEqual([{ group: '', kind: 'default', name }]);
      expect(s.trivialRoute?.meta).toEqual({ group: '', kind: 'default', name: 'default' });
    }
    expect(defaultServer('deny', CLUSTER, 10_000, false).tcpAuthzs).toEqual([]);
    expect(defaultServer('all-unauthenticated', CLUSTER, 10_000, true).protocol).toBe('opaque');
    expect(defaultServerMessage('deny', CLUSTER, 1000, false).labels).toEqual({ group: '', kind: 'default', name: 'deny' });
  });

  it('admit whom each policy names: cluster networks, authenticated clients, or everyone', () => {
    const check = (name: Parameters<typeof defaultServer>[0], c: Client) => defaultServer(name, CLUSTER, 1000, false).tcpAuthzs.some((a) => isAuthorized(a, c));
    expect(check('all-unauthenticated', plain('192.0.2.1'))).toBe(true);
    expect(check('audit', plain('192.0.2.1'))).toBe(true);
    expect(check('all-authenticated', plain('10.0.0.1'))).toBe(false);
    expect(check('all-authenticated', meshed('192.0.2.1'))).toBe(true);
    expect(check('cluster-unauthenticated', plain('10.0.0.1'))).toBe(true);
    expect(check('cluster-unauthenticated', plain('192.0.2.1'))).toBe(false);
    expect(check('cluster-authenticated', meshed('10.0.0.1'))).toBe(true);
    expect(check('cluster-authenticated', meshed('192.0.2.1'))).toBe(false);
    expect(check('deny', meshed('10.0.0.1'))).toBe(false);
    // The proxy's own defaults have no loopback exception.
    expect(check('deny', plain('127.0.0.1'))).toBe(false);
  });
});

describe('compileServer', () => {
  it('admits loopback clients after the controller authorizations, and gives route authorizations first', () => {
    const msg = defaultServerMessage('all-authenticated', CLUSTER, 1000, false);
    const s = compileServer(msg, { localhost: true });
    expect(s.tcpAuthzs.map((a) => a.meta.name)).toEqual(['all-authenticated', 'localhost']);
    const withRoute = compileServer(
      {
        ...msg,
        protocol: {
          kind: {
            $case: 'http1',
            value: {
              routes: [{ metadata: { kind: { $case: 'default', value: 'probe' } }, hosts: [], authorizations: [...defaultServerMessage('all-unauthenticated', CLUSTER, 1, false).authorizations], rules: [{ matches: [], filters: [] }] }],
              localRateLimit: undefined,
            },
          },
        },
      },
      { localhost: true },
    );
    expect(withRoute.protocol).toBe('http1');
    expect(withRoute.trivialRoute?.authzs.map((a) => a.meta.name)).toEqual(['all-unauthenticated', 'all-authenticated', 'localhost']);
  });

  it('skips matching for a single catch-all route (the controller default: prefix "/"), not for a narrower one', () => {
    const msg = defaultServerMessage('all-unauthenticated', CLUSTER, 1000, false);
    const route = (path: string) => ({
      ...msg,
      protocol: {
        kind: {
          $case: 'detect' as const,
          value: {
            timeout: { seconds: 10n, nanos: 0 },
            httpRoutes: [{ metadata: { kind: { $case: 'default' as const, value: 'default' } }, hosts: [], authorizations: [], rules: [{ matches: [{ path: { kind: { $case: 'prefix' as const, value: path } }, headers: [], queryParams: [], method: undefined }], filters: [] }] }],
            httpLocalRateLimit: undefined,
          },
        },
      },
    });
    expect(compileServer(route('/'), { localhost: true }).trivialRoute?.meta.name).toBe('default');
    expect(compileServer(route('/api'), { localhost: true }).trivialRoute).toBeUndefined();
  });

  it('refuses a Server Linkerd would refuse', () => {
    const msg = defaultServerMessage('deny', CLUSTER, 1000, false);
    expect(() => compileServer({ ...msg, protocol: undefined }, { localhost: true })).toThrow('proxy protocol');
    expect(() => compileServer({ ...msg, labels: {} }, { localhost: true })).toThrow("'name'");
    expect(() =>
      compileServer({ ...msg, protocol: { kind: { $case: 'detect', value: { timeout: undefined, httpRoutes: [], httpLocalRateLimit: undefined } } } }, { localhost: true }),
    ).toThrow('timeout');
  });
});
