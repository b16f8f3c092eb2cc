import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '@trellis/config';
import { webConfig, WEB_SPEC } from './config.ts';

function config(args: string[]) {
  const cli = parseCommandLine(WEB_SPEC, args);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  return webConfig(cli, '/app/assets');
}

describe('webConfig', () => {
  it("listens on Linkerd's web port by default and reaches the viz namespace's metrics API and Prometheus", () => {
    expect(config([])).toEqual({
      addr: { host: '', port: 8084 },
      adminAddr: { host: '', port: 9994 },
      metricsApiUrl: 'http://metrics-api.trellis-viz.svc.cluster.local:8085',
      prometheusUrl: 'http://prometheus.trellis-viz.svc.cluster.local:9090',
      grafanaUrl: undefined,
      upstreamTimeoutMs: 10_000,
      assetsDir: '/app/assets',
      proxyAdminPort: 4191,
      logLevel: 'info',
      logFormat: 'plain',
    });
  });

  it('takes a Grafana URL without its trailing slash, and an assets directory', () => {
    const c = config(['--grafana-url', 'http://grafana.monitoring:3000/', '--assets-dir', '/tmp/ui']);
    expect(c.grafanaUrl).toBe('http://grafana.monitoring:3000');
    expect(c.assetsDir).toBe('/tmp/ui');
  });

  it('names the flag and the value it refuses', () => {
    expect(() => config(['--metrics-api-url', 'metrics-api:8085'])).toThrow('invalid value "metrics-api:8085" for --metrics-api-url: expected an http:// or https:// URL');
    expect(() => config(['--grafana-url', 'not a url'])).toThrow('invalid value "not a url" for --grafana-url: not a URL');
    expect(() => config(['--upstream-timeout', '500ms'])).toThrow('invalid value "500ms" for --upstream-timeout: at least 1s');
    expect(() => config(['--addr', 'localhost'])).toThrow(/--addr/);
    expect(() => config(['--proxy-admin-port', '70000'])).toThrow(/--proxy-admin-port/);
  });
});
