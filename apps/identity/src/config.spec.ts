import { parseCommandLine } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { envName, identityCommand, parseIdentityConfig } from './config.ts';
import { parseListenAddress } from '@trellis/config';

function config(argv: string[], env: Record<string, string> = {}) {
  const cli = parseCommandLine(identityCommand, argv, { write: () => true });
  if (cli.kind !== 'run') throw new Error('unexpected exit');
  return parseIdentityConfig(cli.values, cli.explicit, env);
}

describe('identity config', () => {
  it('has Linkerd defaults with Trellis names', () => {
    expect(config([])).toEqual({
      enabled: true,
      addr: { host: '', port: 8080 },
      adminAddr: { host: '', port: 9990 },
      controllerNamespace: 'trellis',
      identityScheme: 'linkerd.io/tls',
      trustDomain: 'cluster.local',
      issuanceLifetimeMs: 86_400_000,
      clockSkewMs: 20_000,
      issuerCertificateFile: '/var/run/linkerd/identity/issuer/crt.pem',
      issuerKeyFile: '/var/run/linkerd/identity/issuer/key.pem',
      trustAnchorsFile: '/var/run/linkerd/identity/trust-roots/ca-bundle.crt',
      kubeconfig: undefined,
      logLevel: 'info',
      logFormat: 'json',
      shutdownGraceMs: 25_000,
    });
    expect(Object.isFrozen(config([]))).toBe(true);
  });

  it('reads flags, and environment variables when the flag is not given', () => {
    const c = config(['--identity-issuance-lifetime', '48h', '--addr=127.0.0.1:0'], {
      TRELLIS_IDENTITY_ISSUANCE_LIFETIME: '1h',
      TRELLIS_IDENTITY_TRUST_DOMAIN: 'example.org',
      TRELLIS_IDENTITY_ISSUER: '/etc/issuer/',
      TRELLIS_IDENTITY_SCHEME: 'kubernetes.io/tls',
    });
    expect(c).toMatchObject({
      issuanceLifetimeMs: 48 * 3_600_000,
      trustDomain: 'example.org',
      addr: { host: '127.0.0.1', port: 0 },
      issuerCertificateFile: '/etc/issuer/tls.crt',
      issuerKeyFile: '/etc/issuer/tls.key',
    });
  });

  it('names environment variables after the flag without the identity- prefix', () => {
    expect(envName('identity-clock-skew-allowance')).toBe('TRELLIS_IDENTITY_CLOCK_SKEW_ALLOWANCE');
    expect(envName('admin-addr')).toBe('TRELLIS_IDENTITY_ADMIN_ADDR');
  });

  it('is disabled when the trust domain or scheme is empty', () => {
    expect(config(['--identity-trust-domain='])).toMatchObject({ enabled: false });
    expect(config(['--identity-scheme='])).toMatchObject({ enabled: false });
  });

  it.each([
    [['--identity-issuance-lifetime', '24'], {}, 'invalid value "24" for --identity-issuance-lifetime: expected a duration such as 10s, 1m30s or 250ms'],
    [[], { TRELLIS_IDENTITY_CLOCK_SKEW_ALLOWANCE: 'soon' }, 'invalid value "soon" for TRELLIS_IDENTITY_CLOCK_SKEW_ALLOWANCE'],
    [['--identity-issuance-lifetime', '10s'], {}, 'invalid value "10s" for --identity-issuance-lifetime: must be at least 60s'],
    [['--identity-scheme', 'spiffe'], {}, 'invalid value "spiffe" for --identity-scheme: expected one of linkerd.io/tls, kubernetes.io/tls'],
    [['--identity-trust-domain', 'Cluster.Local'], {}, 'invalid value "Cluster.Local" for --identity-trust-domain'],
    [['--controller-namespace', 'a.b'], {}, 'invalid value "a.b" for --controller-namespace'],
    [['--addr', '8080'], {}, 'invalid value "8080" for --addr: expected HOST:PORT'],
    [['--admin-addr', ':99999'], {}, 'invalid value "99999" for --admin-addr'],
    [['--log-level', 'loud'], {}, 'invalid value "loud" for --log-level'],
    [[], { TRELLIS_IDENTITY_LOG_FORMAT: 'xml' }, 'invalid value "xml" for TRELLIS_IDENTITY_LOG_FORMAT'],
  ])('rejects %j %j naming the input', (argv, env, message) => {
    expect(() => config(argv, env)).toThrow(message);
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress('--addr', ':8080')).toEqual({ host: '', port: 8080 });
    expect(parseListenAddress('--addr', '[::]:8080')).toEqual({ host: '::', port: 8080 });
    expect(parseListenAddress('--addr', 'localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(() => parseListenAddress('--addr', '[nope]:1')).toThrow('nope is not an IPv6 address');
  });
});
