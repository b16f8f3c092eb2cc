// The metrics API's configuration: flags parsed once into a frozen object. Invalid values name the flag.
import { ConfigError, parseDuration, parseListenAddress, parsePort, type CommandSpec, type ListenAddress, type ParsedCommandLine } from '@trellis/config';
import { KUBECONFIG_FLAG, kubeconfigFlag, LOG_FLAGS, logFlags, parseHttpUrl } from '@trellis/config/component';
import type { LogFormat, LogLevel } from '@trellis/telemetry';

export interface MetricsApiConfig {
  readonly addr: ListenAddress;
  readonly adminAddr: ListenAddress;
  readonly prometheusUrl: string;
  readonly prometheusTimeoutMs: number;
  readonly controlPlaneNamespace: string;
  readonly proxyAdminPort: number;
  readonly kubeconfig: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export const METRICS_API_SPEC: CommandSpec = {
  name: 'metrics-api',
  summary: 'trellis metrics-api: golden metrics and edges of meshed workloads, computed from Prometheus (HTTP/JSON).',
  flags: {
    addr: { type: 'string', description: 'address of the HTTP API', default: ':8085', value: 'HOST:PORT' },
    'admin-addr': { type: 'string', description: 'address of the admin server (/metrics, /ping, /ready)', default: ':9995', value: 'HOST:PORT' },
    'prometheus-url': { type: 'string', description: 'Prometheus to query', default: 'http://prometheus.trellis-viz.svc.cluster.local:9090', value: 'URL' },
    'prometheus-timeout': { type: 'string', description: 'how long one query may take', default: '10s', value: 'DURATION' },
    'controller-namespace': { type: 'string', description: 'namespace of the Trellis control plane (meshed pods carry it)', default: 'trellis' },
    'proxy-admin-port': { type: 'string', description: "the proxies' admin port, whose traffic (probes, scrapes) stats leave out", default: '4191', value: 'PORT' },
    ...KUBECONFIG_FLAG,
    ...LOG_FLAGS,
  },
};

export function metricsApiConfig(cli: Extract<ParsedCommandLine, { kind: 'run' }>): MetricsApiConfig {
  const v = cli.values;
  const str = (k: string) => String(v[k]);
  const timeout = parseDuration('--prometheus-timeout', str('prometheus-timeout'));
  if (timeout < 1000) throw new ConfigError(`invalid value ${JSON.stringify(str('prometheus-timeout'))} for --prometheus-timeout: at least 1s`);
  return Object.freeze({
    addr: parseListenAddress('--addr', str('addr')),
    adminAddr: parseListenAddress('--admin-addr', str('admin-addr')),
    prometheusUrl: parseHttpUrl('--prometheus-url', str('prometheus-url')),
    prometheusTimeoutMs: timeout,
    controlPlaneNamespace: str('controller-namespace'),
    proxyAdminPort: parsePort('--proxy-admin-port', str('proxy-admin-port')),
    kubeconfig: kubeconfigFlag(v),
    ...logFlags(v),
  });
}
