// identity's configuration: flags (Linkerd's names, cobra style) with TRELLIS_IDENTITY_* environment
// fallbacks, parsed once into a frozen object. Errors name the flag or variable and the value.
import { ConfigError, parseDuration, parseEnum, parseListenAddress, type CommandSpec, type FlagValue, type ListenAddress } from '@trellis/config';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '@trellis/telemetry';
import { parseTraceCollector } from '@trellis/telemetry/grpc-tracing';

export const IDENTITY_SCHEMES = ['linkerd.io/tls', 'kubernetes.io/tls'] as const;
export type IdentityScheme = (typeof IDENTITY_SCHEMES)[number];

export const identityCommand: CommandSpec = {
  name: 'identity',
  summary: 'trellis identity: the mesh certificate authority. Serves io.linkerd.proxy.identity.Identity/Certify.',
  flags: {
    addr: { type: 'string', description: 'address to serve Certify (gRPC, plaintext) on', default: ':8080', value: 'HOST:PORT' },
    'admin-addr': { type: 'string', description: 'address to serve /metrics, /ping and /ready on', default: ':9990', value: 'HOST:PORT' },
    'controller-namespace': { type: 'string', description: 'namespace of the control plane; part of every identity name', default: 'trellis', value: 'NS' },
    'identity-scheme': { type: 'string', description: `where the issuer comes from: ${IDENTITY_SCHEMES.join(' (crt.pem, key.pem) or ')} (tls.crt, tls.key); empty disables identity`, default: 'linkerd.io/tls', value: 'SCHEME' },
    'identity-trust-domain': { type: 'string', description: 'trust domain of identity names; empty disables identity', default: 'cluster.local', value: 'DOMAIN' },
    'identity-issuance-lifetime': { type: 'string', description: 'lifetime of issued certificates', default: '24h', value: 'DURATION' },
    'identity-clock-skew-allowance': { type: 'string', description: 'backdating of notBefore (and slack on notAfter) for clock differences', default: '20s', value: 'DURATION' },
    issuer: { type: 'string', description: 'directory holding the issuer certificate and key', default: '/var/run/linkerd/identity/issuer', value: 'DIR' },
    'trust-anchors': { type: 'string', description: 'PEM bundle of trust anchors the issuer must chain to', default: '/var/run/linkerd/identity/trust-roots/ca-bundle.crt', value: 'FILE' },
    kubeconfig: { type: 'string', description: 'kubeconfig for the API server (default: in-cluster, then $KUBECONFIG)', value: 'FILE' },
    'log-level': { type: 'string', description: `log level: ${LOG_LEVELS.join(', ')}`, default: 'info', value: 'LEVEL' },
    'log-format': { type: 'string', description: `log format: ${LOG_FORMATS.join(', ')}`, default: 'json', value: 'FORMAT' },
    'shutdown-grace-period': { type: 'string', description: 'on SIGTERM, how long in-flight calls may take to finish', default: '25s', value: 'DURATION' },
    'trace-collector': { type: 'string', description: 'OTLP gRPC collector for server spans of Certify calls; empty: no tracing', default: '', value: 'HOST:PORT' },
  },
  epilog: 'Every flag can also be set with an environment variable: TRELLIS_IDENTITY_<FLAG>, upper case with underscores and\nwithout an "identity-" prefix (TRELLIS_IDENTITY_TRUST_DOMAIN, TRELLIS_IDENTITY_ISSUANCE_LIFETIME, ...). Flags win.',
};


export interface IdentityConfig {
  /** False when the scheme or trust domain is empty: identity then exits 0, as Linkerd's does. */
  readonly enabled: boolean;
  readonly addr: ListenAddress;
  readonly adminAddr: ListenAddress;
  readonly controllerNamespace: string;
  readonly identityScheme: IdentityScheme;
  readonly trustDomain: string;
  readonly issuanceLifetimeMs: number;
  readonly clockSkewMs: number;
  readonly issuerCertificateFile: string;
  readonly issuerKeyFile: string;
  readonly trustAnchorsFile: string;
  readonly kubeconfig: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly shutdownGraceMs: number;
  /** host:port of an OTLP gRPC collector; undefined: no spans. */
  readonly traceCollector: string | undefined;
}

function traceCollector(value: string, name: string): string | undefined {
  try {
    return parseTraceCollector(name, value);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

export function envName(flag: string): string {
  return `TRELLIS_IDENTITY_${flag.replace(/^identity-/, '').replace(/-/g, '_').toUpperCase()}`;
}


const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/**
 * Builds the config from parsed flags (`values`, `explicit` = flags given on the command line) and the
 * environment. Called once by main.ts.
 */
export function parseIdentityConfig(
  values: Readonly<Record<string, FlagValue | undefined>>,
  explicit: ReadonlySet<string>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): IdentityConfig {
  /** The effective value and the name to blame for it: the flag, or the variable it came from. */
  const get = (flag: string): [string, string] => {
    const e = envName(flag);
    if (!explicit.has(flag) && env[e] !== undefined) return [env[e] as string, e];
    const v = values[flag];
    return [typeof v === 'string' ? v : '', `--${flag}`];
  };
  const duration = (flag: string, min: number) => {
    const [v, n] = get(flag);
    const ms = parseDuration(n, v);
    if (ms < min) throw new ConfigError(`invalid value ${JSON.stringify(v)} for ${n}: must be at least ${min / 1000}s`);
    return ms;
  };
  const [scheme] = get('identity-scheme');
  const [trustDomain, trustDomainName] = get('identity-trust-domain');
  const [ns, nsName] = get('controller-namespace');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new ConfigError(`invalid value ${JSON.stringify(ns)} for ${nsName}: expected a namespace name (DNS-1123 label)`);
  if (trustDomain !== '' && !DNS_NAME.test(trustDomain)) throw new ConfigError(`invalid value ${JSON.stringify(trustDomain)} for ${trustDomainName}: expected a lower-case DNS name such as cluster.local`);
  const identityScheme = scheme === '' ? 'linkerd.io/tls' : parseEnum(get('identity-scheme')[1], scheme, IDENTITY_SCHEMES);
  const [issuerDir] = get('issuer');
  const [certName, keyName] = identityScheme === 'linkerd.io/tls' ? ['crt.pem', 'key.pem'] : ['tls.crt', 'tls.key'];
  const [kubeconfig] = get('kubeconfig');
  const [level, levelName] = get('log-level');
  const [format, formatName] = get('log-format');
  const [addr, addrName] = get('addr');
  const [adminAddr, adminAddrName] = get('admin-addr');
  return Object.freeze({
    enabled: scheme !== '' && trustDomain !== '',
    addr: parseListenAddress(addrName, addr),
    adminAddr: parseListenAddress(adminAddrName, adminAddr),
    controllerNamespace: ns,
    identityScheme,
    trustDomain,
    issuanceLifetimeMs: duration('identity-issuance-lifetime', 60_000),
    clockSkewMs: duration('identity-clock-skew-allowance', 0),
    issuerCertificateFile: `${issuerDir.replace(/\/$/, '')}/${certName}`,
    issuerKeyFile: `${issuerDir.replace(/\/$/, '')}/${keyName}`,
    trustAnchorsFile: get('trust-anchors')[0],
    kubeconfig: kubeconfig === '' ? undefined : kubeconfig,
    logLevel: parseEnum(levelName, level, LOG_LEVELS),
    logFormat: parseEnum(formatName, format, LOG_FORMATS),
    shutdownGraceMs: duration('shutdown-grace-period', 0),
    traceCollector: traceCollector(...get('trace-collector')),
  });
}
