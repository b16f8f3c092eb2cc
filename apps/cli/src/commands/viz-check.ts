// `trellis viz check` (Linkerd's viz checks, src/viz/checks.ts) and `trellis viz dashboard` (the dashboard on
// localhost through a port-forward to a pod of Service trellis-viz/web, port 8084, as `linkerd viz dashboard`, or
// through the API server's service proxy where port-forward does not answer).
import { once } from 'node:events';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ConfigError, parseCommandLine, parseDuration, parseEnum, VERSION, type CommandSpec } from '@trellis/config';
import { renderJson, styleFor, tableWriter, type CheckOutput } from '../check/render.ts';
import { runChecks, succeeded } from '../check/runner.ts';
import { clusterSelection, GLOBAL_FLAGS, loadCluster } from '../cluster/kubeconfig.ts';
import { forwardPort } from '../cluster/port-forward.ts';
import { serviceProxy } from '../cluster/service-proxy.ts';
import { VIZ_NAMESPACE } from '../install/render.ts';
import { vizCategories } from '../viz/checks.ts';
import type { CommandIo } from './io.ts';
import { METRICS_API_FLAG } from './viz.ts';

export const VIZ_CHECK_SPEC: CommandSpec = {
  name: 'trellis viz check',
  summary: 'Check that the viz extension is installed and healthy.',
  flags: {
    proxy: { type: 'boolean', description: "also check that the meshed pods' metrics are in Prometheus" },
    namespace: { type: 'string', short: 'n', description: 'with --proxy: only this namespace (default: all)' },
    output: { type: 'string', short: 'o', description: 'output format (table, short, json)', default: 'table' },
    wait: { type: 'string', description: 'how long to retry checks that may still converge (pods starting)', default: '5m' },
    ...METRICS_API_FLAG,
  },
  globalFlags: GLOBAL_FLAGS,
  epilog: 'Exit code 0 when every check passes (warnings allowed), 1 otherwise.',
};

export async function runVizCheck(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(VIZ_CHECK_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  const output = parseEnum<CheckOutput>('--output', String(v['output']), ['table', 'short', 'json']);
  const waitMs = parseDuration('--wait', String(v['wait']));
  const ctx = {
    kc: loadCluster(clusterSelection(v)),
    cliVersion: VERSION,
    vizNamespace: VIZ_NAMESPACE,
    ...(typeof v['namespace'] === 'string' && v['namespace'] !== '' ? { dataPlaneNamespace: v['namespace'] } : {}),
    ...(typeof v['metrics-api'] === 'string' && v['metrics-api'] !== '' ? { metricsApiUrl: v['metrics-api'] } : {}),
  };
  const table = output === 'json' ? undefined : tableWriter(io.stdout, output === 'short', styleFor(io.stdoutIsTTY === true));
  const reports = await runChecks(vizCategories(v['proxy'] === true), ctx, { deadline: Date.now() + waitMs, ...(table ? { onResult: (r) => table.result(r), onWait: (d, _o, left) => table.waiting(d, left) } : {}) });
  const passed = succeeded(reports);
  if (table) table.end(passed);
  else io.stdout.write(renderJson(reports, passed));
  return passed ? 0 : 1;
}

export const DASHBOARD_SERVICE = 'web';
export const DASHBOARD_PORT = 8084;

export const VIZ_DASHBOARD_SPEC: CommandSpec = {
  name: 'trellis viz dashboard',
  summary: `Serve the viz dashboard on localhost, through a port-forward to Service ${VIZ_NAMESPACE}/${DASHBOARD_SERVICE} or the API server's service proxy, and print its URL.`,
  flags: {
    port: { type: 'string', short: 'p', description: 'the local port (0: any free one)', default: '50750' },
    show: { type: 'string', description: 'url: print the URL and keep serving (no browser is opened either way)', default: 'url' },
    proxy: { type: 'boolean', description: "through the API server's service proxy, without trying a port-forward first" },
  },
  globalFlags: GLOBAL_FLAGS,
  epilog: [
    'A port-forward to a dashboard pod is tried first; when it does not answer (no kubelet that forwards, a user',
    "who may not create pods/portforward), the dashboard is served through the API server's service proxy",
    `(services/${DASHBOARD_SERVICE}:http/proxy), which needs the chart's dashboard.allowedNetworks to admit the API`,
    'server (it does by default). Serves until interrupted (Ctrl-C).',
    '',
    'Example:',
    '  trellis viz dashboard',
    '  trellis viz dashboard --proxy -p 0',
  ].join('\n'),
};

/** The dashboard's address on this machine. */
export const dashboardUrl = (port: number) => `http://localhost:${port}`;

/** Whether the dashboard answers at a local port: its config, as the page's first call. */
async function answers(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/config`, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
    const text = await res.text();
    if (res.ok && text.includes('grafanaUrl')) return undefined;
    return `HTTP ${res.status}: ${text.trim().split('\n')[0]?.slice(0, 200) ?? ''}`;
  } catch (err) {
    const e = err as { name?: string; message?: string; cause?: { code?: string } };
    return e.name === 'TimeoutError' ? 'no answer within 10 s' : (e.cause?.code ?? e.message ?? String(err));
  }
}

interface Served {
  readonly port: number;
  close(): Promise<void>;
}

/** A port-forward to a running dashboard pod that answers, or why there is none. */
async function viaPortForward(kc: KubeConfig, namespace: string, selector: Record<string, string> | undefined, port: number): Promise<Served | string> {
  const core = kc.makeApiClient(CoreV1Api);
  const labelSelector = Object.entries(selector ?? {}).map(([k, val]) => `${k}=${val}`).join(',');
  const pods = labelSelector ? (await core.listNamespacedPod({ namespace, labelSelector })).items : [];
  const pod = pods.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  if (!pod) return `no running pod behind Service ${namespace}/${DASHBOARD_SERVICE}`;
  const fwd = await forwardPort(kc, namespace, pod.metadata?.name ?? '', DASHBOARD_PORT, port);
  const why = await answers(fwd.port);
  if (!why) return fwd;
  await fwd.close();
  return fwd.lastError() ?? `the port-forward to ${namespace}/${pod.metadata?.name ?? ''} did not answer: ${why}`;
}

export async function runVizDashboard(argv: readonly string[], io: CommandIo, until: Promise<unknown> = once(process, 'SIGINT'), namespace: string = VIZ_NAMESPACE): Promise<number> {
  const cl = parseCommandLine(VIZ_DASHBOARD_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  parseEnum<'url'>('--show', String(v['show']), ['url']);
  const port = Number(v['port']);
  if (!/^\d+$/.test(String(v['port'])) || port > 65535) throw new ConfigError(`invalid value "${String(v['port'])}" for --port: expected 0..65535`);
  const kc = loadCluster(clusterSelection(v));
  const core = kc.makeApiClient(CoreV1Api);
  let selector: Record<string, string> | undefined;
  try {
    selector = (await core.readNamespacedService({ name: DASHBOARD_SERVICE, namespace })).spec?.selector;
  } catch (err) {
    if ((err as { code?: number }).code === 404) throw new ConfigError(`the dashboard is not installed (no Service ${namespace}/${DASHBOARD_SERVICE}): trellis viz install | kubectl apply -f -`);
    throw err;
  }
  let served: Served | undefined;
  let forwardFailed: string | undefined;
  if (v['proxy'] !== true) {
    const fwd = await viaPortForward(kc, namespace, selector, port);
    if (typeof fwd === 'string') forwardFailed = fwd;
    else served = fwd;
  }
  if (!served) {
    const sp = await serviceProxy(kc, namespace, DASHBOARD_SERVICE, 'http', port);
    const why = await answers(sp.port);
    if (why) {
      await sp.close();
      throw new ConfigError(`the dashboard did not answer: ${forwardFailed ? `port-forward: ${forwardFailed}; ` : ''}the API server's service proxy (${sp.upstream}): ${why} (see trellis viz check)`);
    }
    io.stderr.write(`${forwardFailed ? `Port-forward unavailable (${forwardFailed}): ` : ''}serving the dashboard through the API server's service proxy, ${sp.upstream}\n`);
    served = sp;
  }
  io.stdout.write(`Trellis dashboard available at:\n${dashboardUrl(served.port)}\n`);
  await until;
  await served.close();
  return 0;
}
