// The proxy's configuration: Linkerd's LINKERD2_PROXY_* variables (docs/reference/linkerd-proxy.md §7, docs/reference/linkerd-contracts.md §5.4) plus a
// few TRELLIS_PROXY_* extensions, parsed once at start into one frozen object, the identity, discovery and policy
// sections included (their parsers live beside the code they configure). Every error names the variable and the value,
// and a start with several invalid variables names them all.
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { parseDiscoveryConfig, type DiscoveryConfig } from './discovery/config.ts';
import { parseIdentityConfig, type IdentityConfig } from './identity/config.ts';
import { parsePolicyConfig, type PolicyConfig } from './policy/config.ts';
import { parseTraceConfig, type TraceConfig } from './trace/config.ts';
import { ConfigError, parseBoolean, parseEnum, parseInteger, parseListenAddress, parsePortRanges, type ListenAddress, type PortRange } from '@trellis/config';

export type Env = Readonly<Record<string, string | undefined>>;

export type ListenAddr = ListenAddress;

export type DefaultPolicy =
  | 'all-unauthenticated'
  | 'all-authenticated'
  | 'cluster-authenticated'
  | 'cluster-unauthenticated'
  | 'deny'
  | 'audit';

export interface DirectionConfig {
  readonly detectTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxInFlight: number;
  readonly http1PoolIdleTimeoutMs: number;
  readonly maxIdleConnsPerEndpoint: number;
  /** Ports whose connections are forwarded as TCP without protocol detection. */
  readonly opaquePorts: readonly PortRange[];
  /** HTTP/2 server keepalive: PING every interval, close the connection when no ack within the timeout (0: off). */
  readonly h2KeepAliveIntervalMs: number;
  readonly h2KeepAliveTimeoutMs: number;
}

/** What the mesh (identity, mTLS, discovery, policy discovery) is started with (identity/mesh.ts startMesh). */
export interface MeshConfig {
  readonly identity: IdentityConfig;
  readonly discovery: DiscoveryConfig;
  readonly policy: PolicyConfig;
}

export interface ProxyConfig {
  /** No identity or discovery: plaintext, outbound forwards to the original destination. Otherwise startProxy
   *  starts the mesh (identity, mTLS, discovery) from `mesh`. */
  readonly plaintext: boolean;
  /** Meshed mode's identity, discovery and policy settings; undefined in plaintext mode. */
  readonly mesh: MeshConfig | undefined;
  /** Policy settings; in plaintext mode without a controller (the inbound default policy and its networks). */
  readonly policy: PolicyConfig;
  /** Names this proxy in synthesized errors (the pod name when the injector provides it). */
  readonly proxyName: string;
  readonly outboundListenAddrs: readonly ListenAddr[];
  readonly inboundListenAddr: ListenAddr;
  readonly adminListenAddr: ListenAddr;
  readonly controlListenAddr: ListenAddr;
  /** The tap controller's identity (LINKERD2_PROXY_TAP_SVC_NAME); unset: no tap server, as in Linkerd. */
  readonly tapSvcName: string | undefined;
  /** Span export (LINKERD2_PROXY_TRACE_*); undefined: tracing off. */
  readonly trace: TraceConfig | undefined;
  /** The pod's IPs; inbound refuses other original destinations. Undefined: every IP is allowed. */
  readonly inboundIps: readonly string[] | undefined;
  readonly inbound: DirectionConfig;
  readonly outbound: DirectionConfig;
  readonly inboundDefaultPolicy: DefaultPolicy;
  readonly outboundInformationalHeaders: boolean;
  /**
   * HTTP/1 requests to meshed endpoints with the h2 hint go as HTTP/1 over pooled mTLS connections
   * (TRELLIS_PROXY_MESH_HTTP1) instead of upgraded to HTTP/2 with l5d-orig-proto (outbound/mesh-h1.ts).
   */
  readonly meshHttp1: boolean;
  /** Ingress mode: outbound HTTP requests are routed by l5d-dst-override or Host/:authority (outbound/ingress.ts). */
  readonly ingressMode: boolean;
  readonly http2InitialStreamWindowSize: number;
  readonly http2InitialConnectionWindowSize: number;
  readonly http1HeaderReadTimeoutMs: number;
  readonly metricsRetainIdleMs: number;
  /** How long a port whose detection timed out is treated as opaque, and how many such ports are remembered. */
  readonly opaqueMemoryTtlMs: number;
  readonly opaqueMemoryMax: number;
  readonly shutdownGracePeriodMs: number;
  readonly shutdownEndpointEnabled: boolean;
  /**
   * Threads serving the data path: LINKERD2_PROXY_CORES when TRELLIS_PROXY_WORKER_THREADS is true (worker threads
   * sharing the listeners), else 1. Off by default: a worker costs ~20 MiB idle and did not raise throughput on a
   * 2-core machine (apps/proxy/README.md).
   */
  readonly cores: number;
  readonly log: string;
  readonly logFormat: 'plain' | 'json';
}

/** The cluster-wide default opaque ports: server-speaks-first protocols (SMTP, MySQL, Postgres, Redis, ...). */
export const DEFAULT_OPAQUE_PORTS = '25,587,3306,4444,5432,6379,9300,11211';

const bad = (name: string, value: string, why: string) =>
  new ConfigError(`invalid value ${JSON.stringify(value)} for ${name}: ${why}`);

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Linkerd's duration syntax: digits and one unit of ms, s, m, h or d; a bare 0 is allowed. Returns ms. */
export function parseProxyDuration(name: string, value: string): number {
  const m = /^\s*(\d+)(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) throw bad(name, value, 'expected digits and a unit of ms, s, m, h or d (e.g. 10s, 100ms, 365d)');
  const n = Number(m[1]);
  if (m[2] === undefined) {
    if (n !== 0) throw bad(name, value, 'a duration needs a unit (ms, s, m, h or d); only 0 may omit it');
    return 0;
  }
  return n * (UNIT_MS[m[2]] as number);
}

/** "127.0.0.1:4140", "[::1]:4140", "0.0.0.0:4143". */
export function parseListenAddr(name: string, value: string): ListenAddr {
  // The proxy binds exact addresses, so the host must be an IP literal.
  return parseListenAddress(name, value, { requireIp: true });
}

export function portIn(ranges: readonly PortRange[], port: number): boolean {
  for (const r of ranges) if (port >= r.from && port <= r.to) return true;
  return false;
}

function directionConfig(get: Getter, dir: 'INBOUND' | 'OUTBOUND', opaqueVar: string, opaqueDefault: string): DirectionConfig {
  const p = `LINKERD2_PROXY_${dir}`;
  const idleConnsVar = dir === 'INBOUND' ? 'LINKERD2_PROXY_MAX_IDLE_CONNS_PER_ENDPOINT' : 'LINKERD2_PROXY_OUTBOUND_MAX_IDLE_CONNS_PER_ENDPOINT';
  return Object.freeze({
    detectTimeoutMs: get.duration(`${p}_DETECT_TIMEOUT`, '10s'),
    connectTimeoutMs: get.duration(`${p}_CONNECT_TIMEOUT`, dir === 'INBOUND' ? '300ms' : '1s'),
    maxInFlight: get.integer(`${p}_MAX_IN_FLIGHT`, 100_000, 1),
    http1PoolIdleTimeoutMs: get.duration(`${p}_HTTP1_CONNECTION_POOL_IDLE_TIMEOUT`, '3s'),
    maxIdleConnsPerEndpoint: get.integer(idleConnsVar, 10_000, 0),
    opaquePorts: Object.freeze(get.parse(opaqueVar, opaqueDefault, parsePortRanges).map((r) => Object.freeze(r))),
    h2KeepAliveIntervalMs: get.duration(`${p}_SERVER_HTTP2_KEEP_ALIVE_INTERVAL`, '0'),
    h2KeepAliveTimeoutMs: get.duration(`${p}_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT`, '0'),
  });
}

interface Getter {
  raw(name: string): string | undefined;
  /** `parse()`, or `fallback()` with its ConfigError kept for the end of the parse. */
  take<T>(parse: () => T, fallback: () => T): T;
  parse<T>(name: string, fallback: string, parse: (name: string, value: string) => T): T;
  duration(name: string, fallback: string): number;
  integer(name: string, fallback: number, min?: number, max?: number): number;
  boolean(name: string, fallback: boolean): boolean;
}

/** Reads variables with their defaults; an invalid one is kept in `problems` and its default used meanwhile. */
function getter(env: Env, problems: Problems): Getter {
  const raw = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const take = <T>(parse: () => T, fallback: () => T): T => problems.take(parse, fallback);
  return {
    raw,
    take,
    parse: (name, fallback, parse) => take(() => parse(name, raw(name) ?? fallback), () => parse(name, fallback)),
    duration: (name, fallback) => take(() => parseProxyDuration(name, raw(name) ?? fallback), () => parseProxyDuration(name, fallback)),
    integer: (name, fallback, min, max) => {
      const v = raw(name);
      return v === undefined ? fallback : take(() => parseInteger(name, v, min, max), () => fallback);
    },
    boolean: (name, fallback) => {
      const v = raw(name);
      return v === undefined ? fallback : take(() => parseBoolean(name, v), () => fallback);
    },
  };
}

function proxyNameFrom(get: Getter): string {
  const ctx = get.raw('LINKERD2_PROXY_DESTINATION_CONTEXT');
  if (ctx !== undefined) {
    try {
      const parsed = JSON.parse(ctx) as { pod?: unknown; ns?: unknown };
      if (typeof parsed.pod === 'string' && parsed.pod) return typeof parsed.ns === 'string' && parsed.ns ? `${parsed.pod}.${parsed.ns}` : parsed.pod;
    } catch {
      throw bad('LINKERD2_PROXY_DESTINATION_CONTEXT', ctx, 'expected a JSON object such as {"ns":"default","pod":"web-0"}');
    }
  }
  return hostname();
}

const REQUIRED_WITH_IDENTITY = [
  'LINKERD2_PROXY_IDENTITY_DIR',
  'LINKERD2_PROXY_IDENTITY_TOKEN_FILE',
  'LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS',
  'LINKERD2_PROXY_IDENTITY_LOCAL_NAME',
  'LINKERD2_PROXY_IDENTITY_SVC_ADDR',
  'LINKERD2_PROXY_DESTINATION_SVC_ADDR',
] as const;

/**
 * Parses the environment (and the --plaintext flag) once. Every invalid variable is named: the ConfigError lists
 * each (the identity, discovery, policy and trace sections name their first each).
 */
export function parseProxyConfig(env: Env, flags: { readonly plaintext?: boolean } = {}): ProxyConfig {
  const problems = new Problems();
  const get = getter(env, problems);
  if (get.raw('LINKERD2_PROXY_IDENTITY_DISABLED') !== undefined) {
    problems.add(bad('LINKERD2_PROXY_IDENTITY_DISABLED', env['LINKERD2_PROXY_IDENTITY_DISABLED'] ?? '', 'identity cannot be disabled this way; use TRELLIS_PROXY_PLAINTEXT=true'));
  }
  const plaintext = flags.plaintext === true || get.boolean('TRELLIS_PROXY_PLAINTEXT', false);
  const missing = plaintext ? [] : REQUIRED_WITH_IDENTITY.filter((n) => get.raw(n) === undefined);
  if (missing.length > 0) problems.add(new ConfigError(`${missing.join(', ')} must be set (or run with TRELLIS_PROXY_PLAINTEXT=true)`));
  const mesh = plaintext || missing.length > 0 ? undefined : meshSections(env, problems);
  // Plaintext mode has no policy controller; its inbound ports run on the default policy.
  const policy = mesh ? mesh.policy : problems.take(() => parsePolicyConfig({ ...env, LINKERD2_PROXY_POLICY_SVC_ADDR: undefined }), () => parsePolicyConfig({}));
  const ingressMode = get.boolean('LINKERD2_PROXY_INGRESS_MODE', false);
  const cfg: ProxyConfig = {
    plaintext,
    mesh,
    policy,
    proxyName: get.take(() => proxyNameFrom(get), hostname),
    outboundListenAddrs: Object.freeze(outboundListenAddrs(get)),
    inboundListenAddr: get.parse('LINKERD2_PROXY_INBOUND_LISTEN_ADDR', '0.0.0.0:4143', parseListenAddr),
    adminListenAddr: get.parse('LINKERD2_PROXY_ADMIN_LISTEN_ADDR', '127.0.0.1:4191', parseListenAddr),
    controlListenAddr: get.parse('LINKERD2_PROXY_CONTROL_LISTEN_ADDR', '0.0.0.0:4190', parseListenAddr),
    tapSvcName: get.raw('LINKERD2_PROXY_TAP_SVC_NAME') || undefined,
    trace: get.take(() => parseTraceConfig(env), () => undefined),
    inboundIps: get.take(() => inboundIps(get), () => undefined),
    inbound: directionConfig(get, 'INBOUND', 'LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION', ''),
    // Without discovery the outbound side cannot learn opaque ports, so it starts from the cluster default.
    outbound: directionConfig(get, 'OUTBOUND', 'TRELLIS_PROXY_OUTBOUND_PORTS_DISABLE_PROTOCOL_DETECTION', DEFAULT_OPAQUE_PORTS),
    inboundDefaultPolicy: get.parse('LINKERD2_PROXY_INBOUND_DEFAULT_POLICY', 'all-unauthenticated', (n, v) =>
      parseEnum(n, v, ['all-unauthenticated', 'all-authenticated', 'cluster-authenticated', 'cluster-unauthenticated', 'deny', 'audit'] as const),
    ),
    // An ingress answers clients outside the mesh: the proxy's error text stays out of their responses unless asked.
    outboundInformationalHeaders: !get.boolean('LINKERD2_PROXY_OUTBOUND_DISABLE_INFORMATIONAL_HEADERS', ingressMode),
    meshHttp1: get.boolean('TRELLIS_PROXY_MESH_HTTP1', false),
    ingressMode,
    http2InitialStreamWindowSize: get.integer('LINKERD2_PROXY_HTTP2_INITIAL_STREAM_WINDOW_SIZE', 65_535, 1, 2 ** 31 - 1),
    http2InitialConnectionWindowSize: get.integer('LINKERD2_PROXY_HTTP2_INITIAL_CONNECTION_WINDOW_SIZE', 1_048_576, 65_535, 2 ** 31 - 1),
    http1HeaderReadTimeoutMs: get.duration('TRELLIS_PROXY_HTTP1_HEADER_READ_TIMEOUT', '30s'),
    metricsRetainIdleMs: get.duration('LINKERD2_PROXY_METRICS_RETAIN_IDLE', '10m'),
    opaqueMemoryTtlMs: get.duration('TRELLIS_PROXY_DETECT_TIMEOUT_MEMORY', '10m'),
    opaqueMemoryMax: get.integer('TRELLIS_PROXY_DETECT_TIMEOUT_MEMORY_MAX', 1024, 0),
    shutdownGracePeriodMs: get.duration('LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD', '120s'),
    shutdownEndpointEnabled: get.boolean('LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED', false),
    cores: get.boolean('TRELLIS_PROXY_WORKER_THREADS', false) ? get.integer('LINKERD2_PROXY_CORES', 1, 1, 1024) : 1,
    log: get.raw('LINKERD2_PROXY_LOG') ?? 'warn,linkerd=info,hickory=error',
    logFormat: get.parse('LINKERD2_PROXY_LOG_FORMAT', 'plain', (n, v) => parseEnum(n, v.toLowerCase(), ['plain', 'json'] as const)),
  };
  problems.throwIfAny();
  return Object.freeze(cfg);
}

function outboundListenAddrs(get: Getter): ListenAddr[] {
  const raw = get.raw('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS');
  const fallback = () => [parseListenAddr('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR', '127.0.0.1:4140')];
  if (raw === undefined) return [get.parse('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR', '127.0.0.1:4140', parseListenAddr)];
  return get.take(() => {
    const addrs = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => parseListenAddr('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS', s));
    if (addrs.length === 0 || addrs.length > 2) throw bad('LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS', raw, 'expected one or two addresses');
    return addrs;
  }, fallback);
}

function inboundIps(get: Getter): readonly string[] | undefined {
  const raw = get.raw('LINKERD2_PROXY_INBOUND_IPS');
  if (raw === undefined) return undefined;
  return Object.freeze(
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((ip) => {
        if (isIP(ip) === 0) throw bad('LINKERD2_PROXY_INBOUND_IPS', raw, `${JSON.stringify(ip)} is not an IP address`);
        return ip;
      }),
  );
}

/** Meshed mode's sections, each parsed by its own part's parser; undefined when one of them is invalid. */
function meshSections(env: Env, problems: Problems): MeshConfig | undefined {
  const identity = problems.take(() => parseIdentityConfig(env), () => undefined);
  const discovery = problems.take(() => parseDiscoveryConfig(env), () => undefined);
  const policy = problems.take(() => parsePolicyConfig(env), () => undefined);
  return identity && discovery && policy ? Object.freeze({ identity, discovery, policy }) : undefined;
}

/** The invalid variables of one start, so that it fails naming every one of them rather than the first. */
class Problems {
  readonly #errors: ConfigError[] = [];

  add(err: ConfigError): void {
    if (!this.#errors.some((e) => e.message === err.message)) this.#errors.push(err);
  }

  /** `parse()`, or `fallback()` once its ConfigError is kept (the start fails at the end all the same). */
  take<T>(parse: () => T, fallback: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.add(err);
      return fallback();
    }
  }

  throwIfAny(): void {
    const [first, ...more] = this.#errors;
    if (!first) return;
    if (more.length === 0) throw first;
    throw new ConfigError(`${this.#errors.length} invalid settings:\n${this.#errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
}

/** The identity, discovery and policy sections of meshed mode, each parsed by its own part's parser. */
export function parseMeshConfig(env: Env): MeshConfig {
  return Object.freeze({ identity: parseIdentityConfig(env), discovery: parseDiscoveryConfig(env), policy: parsePolicyConfig(env) });
}
