// The destination's configuration: flags (Linkerd's names) parsed once into a frozen object.
import { ConfigError, parseCidrList, parseEnum, parseInteger, parseListenAddress, parsePortRanges, type CommandSpec, type FlagValue, type ListenAddress, type PortRange } from '@trellis/config';
import { durationFromMillis, type destination } from '@trellis/proto';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '@trellis/telemetry';
import { parseTraceCollector } from '@trellis/telemetry/grpc-tracing';

export const DEFAULT_POLICIES = ['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit'] as const;
export type DefaultPolicy = (typeof DEFAULT_POLICIES)[number];

export type { ListenAddress };

export interface DestinationConfig {
  readonly addr: ListenAddress;
  readonly policyAddr: ListenAddress;
  readonly adminAddr: ListenAddress;
  readonly webhookAddr: ListenAddress;
  readonly webhookTlsCert: string;
  readonly webhookTlsKey: string;
  /** The policy-validator webhook; port -1 when it is off. */
  readonly policyValidatorAddr: ListenAddress;
  readonly policyValidatorTlsCert: string;
  readonly policyValidatorTlsKey: string;
  readonly kubeconfig: string | undefined;
  readonly controllerNamespace: string;
  readonly identityTrustDomain: string;
  readonly clusterDomain: string;
  readonly outboundTransportMode: 'transport-header' | 'transparent';
  readonly enableH2Upgrade: boolean;
  readonly enableIPv6: boolean;
  readonly defaultOpaquePorts: readonly PortRange[];
  readonly streamQueueCapacity: number;
  readonly extEndpointZoneWeights: boolean;
  readonly meshedHttp2ClientParams: destination.Http2ClientParams | undefined;
  readonly defaultPolicy: DefaultPolicy;
  readonly clusterNetworks: readonly string[];
  readonly probeNetworks: readonly string[];
  /** Outbound routes let clients set l5d-retry-* / l5d-timeout style headers (allow_l5d_request_headers). */
  readonly allowL5dRequestHeaders: boolean;
  readonly logLevel: LogLevel;
  /** host:port of an OTLP gRPC collector; undefined: no spans. */
  readonly traceCollector: string | undefined;
  readonly logFormat: LogFormat;
}

export const COMMAND: CommandSpec = {
  name: 'destination',
  summary: 'trellis destination: service discovery and policy for meshed proxies (Destination and policy APIs).',
  flags: {
    addr: { type: 'string', description: 'Destination API listen address', value: 'ADDR', default: ':8086' },
    'policy-addr': { type: 'string', description: 'Inbound/Outbound policy API listen address', value: 'ADDR', default: ':8090' },
    'metrics-addr': { type: 'string', description: 'admin listen address (/metrics, /ping, /ready)', value: 'ADDR', default: ':9996' },
    'sp-validator-addr': { type: 'string', description: 'ServiceProfile validating webhook (HTTPS) listen address; empty disables', value: 'ADDR', default: '' },
    'sp-validator-tls-cert': { type: 'string', description: 'webhook certificate (PEM file)', value: 'FILE', default: '/var/run/trellis/tls/tls.crt' },
    'sp-validator-tls-key': { type: 'string', description: 'webhook private key (PEM file)', value: 'FILE', default: '/var/run/trellis/tls/tls.key' },
    'policy-validator-addr': { type: 'string', description: 'policy resource validating webhook (HTTPS) listen address; empty disables', value: 'ADDR', default: '' },
    'policy-validator-tls-cert': { type: 'string', description: 'policy-validator certificate (PEM file)', value: 'FILE', default: '/var/run/trellis/policy-tls/tls.crt' },
    'policy-validator-tls-key': { type: 'string', description: 'policy-validator private key (PEM file)', value: 'FILE', default: '/var/run/trellis/policy-tls/tls.key' },
    kubeconfig: { type: 'string', description: 'kubeconfig file (default: in-cluster, then $KUBECONFIG)', value: 'FILE', default: '' },
    'controller-namespace': { type: 'string', description: 'namespace of the control plane', value: 'NS', default: 'trellis' },
    'identity-trust-domain': { type: 'string', description: 'trust domain of proxy identities', value: 'DOMAIN', default: 'cluster.local' },
    'cluster-domain': { type: 'string', description: 'Kubernetes cluster domain', value: 'DOMAIN', default: 'cluster.local' },
    'outbound-transport-mode': { type: 'string', description: 'transport-header or transparent', value: 'MODE', default: 'transport-header' },
    'enable-h2-upgrade': { type: 'boolean', description: 'hint h2 for meshed endpoints', default: true },
    'enable-ipv6': { type: 'boolean', description: 'serve IPv6 endpoints (preferred for dual-stack pods)', default: true },
    'default-opaque-ports': { type: 'string', description: 'ports treated as opaque without annotations', value: 'PORTS', default: '25,587,3306,4444,5432,6379,9300,11211' },
    'stream-queue-capacity': { type: 'string', description: 'pending updates per stream before the stream is ended', value: 'N', default: '100' },
    'ext-endpoint-zone-weights': { type: 'boolean', description: 'weigh same-zone endpoints ×10', default: false },
    'meshed-http2-client-params': {
      type: 'string',
      description: 'HTTP/2 client parameters for meshed endpoints (JSON)',
      value: 'JSON',
      default: '{"keep_alive":{"interval":{"seconds":10},"timeout":{"seconds":3},"while_idle":true}}',
    },
    'default-policy': { type: 'string', description: `cluster default inbound policy (${DEFAULT_POLICIES.join(', ')})`, value: 'POLICY', default: 'all-unauthenticated' },
    'cluster-networks': { type: 'string', description: 'cluster networks (CIDRs)', value: 'CIDRS', default: '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8' },
    'probe-networks': { type: 'string', description: 'networks allowed to reach probe routes (CIDRs)', value: 'CIDRS', default: '0.0.0.0/0,::/0' },
    'allow-l5d-request-headers': { type: 'boolean', description: 'let clients override route retries and timeouts with l5d-* request headers', default: false },
    'log-level': { type: 'string', description: `log level (${LOG_LEVELS.join(', ')})`, value: 'LEVEL', default: 'info' },
    'log-format': { type: 'string', description: `log format (${LOG_FORMATS.join(', ')})`, value: 'FORMAT', default: 'json' },
    'trace-collector': { type: 'string', description: 'OTLP gRPC collector for server spans of the Destination and policy calls; empty: no tracing', value: 'HOST:PORT', default: '' },
  },
};

function durationJson(name: string, v: unknown) {
  if (v === undefined) return undefined;
  const o = v as { seconds?: unknown; nanos?: unknown };
  const seconds = Number(o.seconds ?? 0);
  const nanos = Number(o.nanos ?? 0);
  if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) throw new ConfigError(`invalid duration ${JSON.stringify(v)} in --${name}`);
  return durationFromMillis(seconds * 1000 + nanos / 1e6);
}

/** Linkerd's JSON form (snake_case field names, durations as {seconds, nanos}) of Http2ClientParams. */
export function parseHttp2ClientParams(name: string, text: string): destination.Http2ClientParams | undefined {
  if (text.trim() === '') return undefined;
  let o: Record<string, Record<string, unknown> | undefined>;
  try {
    o = JSON.parse(text) as typeof o;
  } catch (err) {
    throw new ConfigError(`invalid value for --${name}: not JSON (${(err as Error).message})`);
  }
  const fc = o['flow_control'];
  const ka = o['keep_alive'];
  const int = o['internals'];
  return {
    flowControl: fc && {
      initialConnectionWindowSize: Number(fc['initial_connection_window_size'] ?? 0),
      initialStreamWindowSize: Number(fc['initial_stream_window_size'] ?? 0),
      adaptiveFlowControl: fc['adaptive_flow_control'] === true,
    },
    keepAlive: ka && { interval: durationJson(name, ka['interval']), timeout: durationJson(name, ka['timeout']), whileIdle: ka['while_idle'] === true },
    internals: int && {
      maxConcurrentResetStreams: Number(int['max_concurrent_reset_streams'] ?? 0),
      maxFrameSize: Number(int['max_frame_size'] ?? 0),
      maxSendBufSize: Number(int['max_send_buf_size'] ?? 0),
    },
  };
}

export function buildConfig(values: Readonly<Record<string, FlagValue | undefined>>): DestinationConfig {
  const s = (k: string) => String(values[k] ?? '');
  const cidrs = (k: string) => parseCidrList(`--${k}`, s(k)).map((c) => `${c.address}/${c.prefix}`);
  const cfg: DestinationConfig = {
    addr: parseListenAddress('--addr', s('addr')),
    policyAddr: parseListenAddress('--policy-addr', s('policy-addr')),
    adminAddr: parseListenAddress('--metrics-addr', s('metrics-addr')),
    webhookAddr: s('sp-validator-addr') === '' ? { host: '', port: -1 } : parseListenAddress('--sp-validator-addr', s('sp-validator-addr')),
    webhookTlsCert: s('sp-validator-tls-cert'),
    webhookTlsKey: s('sp-validator-tls-key'),
    policyValidatorAddr: s('policy-validator-addr') === '' ? { host: '', port: -1 } : parseListenAddress('--policy-validator-addr', s('policy-validator-addr')),
    policyValidatorTlsCert: s('policy-validator-tls-cert'),
    policyValidatorTlsKey: s('policy-validator-tls-key'),
    kubeconfig: s('kubeconfig') || undefined,
    controllerNamespace: s('controller-namespace'),
    identityTrustDomain: s('identity-trust-domain'),
    clusterDomain: s('cluster-domain').replace(/\.$/, ''),
    outboundTransportMode: parseEnum('--outbound-transport-mode', s('outbound-transport-mode'), ['transport-header', 'transparent'] as const),
    enableH2Upgrade: values['enable-h2-upgrade'] === true,
    enableIPv6: values['enable-ipv6'] === true,
    defaultOpaquePorts: parsePortRanges('--default-opaque-ports', s('default-opaque-ports')),
    streamQueueCapacity: parseInteger('--stream-queue-capacity', s('stream-queue-capacity'), 1, 1_000_000),
    extEndpointZoneWeights: values['ext-endpoint-zone-weights'] === true,
    meshedHttp2ClientParams: parseHttp2ClientParams('meshed-http2-client-params', s('meshed-http2-client-params')),
    defaultPolicy: parseEnum('--default-policy', s('default-policy'), DEFAULT_POLICIES),
    clusterNetworks: cidrs('cluster-networks'),
    probeNetworks: cidrs('probe-networks'),
    allowL5dRequestHeaders: values['allow-l5d-request-headers'] === true,
    logLevel: parseEnum('--log-level', s('log-level'), LOG_LEVELS),
    logFormat: parseEnum('--log-format', s('log-format'), LOG_FORMATS),
    traceCollector: traceCollector(s('trace-collector')),
  };
  return Object.freeze(cfg);
}

function traceCollector(value: string): string | undefined {
  try {
    return parseTraceCollector('--trace-collector', value);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/** A config with every default, for tests and embedding; `overrides` replace individual fields. */
export function defaultConfig(overrides: Partial<DestinationConfig> = {}): DestinationConfig {
  const values: Record<string, FlagValue | undefined> = {};
  for (const [k, f] of Object.entries(COMMAND.flags)) values[k] = f.default as FlagValue | undefined;
  return Object.freeze({ ...buildConfig(values), ...overrides });
}
