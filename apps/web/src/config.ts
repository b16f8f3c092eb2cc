// The dashboard's configuration: flags parsed once into a frozen object. Invalid values name the flag.
import { ConfigError, parseDuration, parseListenAddress, parsePort, type CommandSpec, type ListenAddress, type ParsedCommandLine } from '@trellis/config';
import { KUBECONFIG_FLAG, kubeconfigFlag, LOG_FLAGS, logFlags, parseHttpUrl } from '@trellis/config/component';
import type { LogFormat, LogLevel } from '@trellis/telemetry';
import { join } from 'node:path';

export interface WebConfig {
  readonly addr: ListenAddress;
  readonly adminAddr: ListenAddress;
  readonly metricsApiUrl: string;
  readonly prometheusUrl: string;
  /** Undefined: no Grafana links. */
  readonly grafanaUrl: string | undefined;
  readonly upstreamTimeoutMs: number;
  /** The built front end (index.html, app.js, app.css). */
  readonly assetsDir: string;
  readonly proxyAdminPort: number;
  /** For live tap, through the API server; undefined: in-cluster service account, then $KUBECONFIG. */
  readonly kubeconfig: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

export const WEB_SPEC: CommandSpec = {
  name: 'web',
  summary: 'trellis web: the viz dashboard (namespaces, workloads, topology, routes, history, live tap) over the metrics API, Prometheus and the tap API.',
  flags: {
    addr: { type: 'string', description: 'address of the dashboard', default: ':8084', value: 'HOST:PORT' },
    'admin-addr': { type: 'string', description: 'address of the admin server (/metrics, /ping, /ready)', default: ':9994', value: 'HOST:PORT' },
    'metrics-api-url': { type: 'string', description: 'the metrics API', default: 'http://metrics-api.trellis-viz.svc.cluster.local:8085', value: 'URL' },
    'prometheus-url': { type: 'string', description: 'Prometheus, for the history charts', default: 'http://prometheus.trellis-viz.svc.cluster.local:9090', value: 'URL' },
    'grafana-url': { type: 'string', description: 'Grafana with the Trellis dashboards; links appear only when set', value: 'URL' },
    'upstream-timeout': { type: 'string', description: 'how long one call to the metrics API or Prometheus may take', default: '10s', value: 'DURATION' },
    'assets-dir': { type: 'string', description: 'the built front end (default: assets/ beside the program)', value: 'DIR' },
    'proxy-admin-port': { type: 'string', description: "the proxies' admin port, whose traffic (probes, scrapes) the history leaves out", default: '4191', value: 'PORT' },
    ...KUBECONFIG_FLAG,
    ...LOG_FLAGS,
  },
};

export function webConfig(cli: Extract<ParsedCommandLine, { kind: 'run' }>, defaultAssetsDir = join(import.meta.dirname, 'assets')): WebConfig {
  const v = cli.values;
  const str = (k: string) => String(v[k]);
  const timeout = parseDuration('--upstream-timeout', str('upstream-timeout'));
  if (timeout < 1000) throw new ConfigError(`invalid value ${JSON.stringify(str('upstream-timeout'))} for --upstream-timeout: at least 1s`);
  return Object.freeze({
    addr: parseListenAddress('--addr', str('addr')),
    adminAddr: parseListenAddress('--admin-addr', str('admin-addr')),
    metricsApiUrl: parseHttpUrl('--metrics-api-url', str('metrics-api-url')),
    prometheusUrl: parseHttpUrl('--prometheus-url', str('prometheus-url')),
    grafanaUrl: typeof v['grafana-url'] === 'string' && v['grafana-url'] !== '' ? parseHttpUrl('--grafana-url', v['grafana-url']) : undefined,
    upstreamTimeoutMs: timeout,
    assetsDir: typeof v['assets-dir'] === 'string' && v['assets-dir'] !== '' ? v['assets-dir'] : defaultAssetsDir,
    proxyAdminPort: parsePort('--proxy-admin-port', str('proxy-admin-port')),
    kubeconfig: kubeconfigFlag(v),
    ...logFlags(v),
  });
}
