// `trellis viz check` (Linkerd's viz checks, src/viz/checks.ts) and `trellis viz dashboard` (the dashboard on
// localhost through a port-forward to a pod of Service trellis-viz/web, port 8084, as `linkerd viz dashboard`).
import { once } from 'node:events';
import { CoreV1Api } from '@kubernetes/client-node';
import { ConfigError, parseCommandLine, parseDuration, parseEnum, VERSION, type CommandSpec } from '@trellis/config';
import { renderJson, styleFor, tableWriter, type CheckOutput } from '../check/render.ts';
import { runChecks, succeeded } from '../check/runner.ts';
import { clusterSelection, GLOBAL_FLAGS, loadCluster } from '../cluster/kubeconfig.ts';
import { forwardPort } from '../cluster/port-forward.ts';
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
  summary: `Serve the viz dashboard on localhost through a port-forward to Service ${VIZ_NAMESPACE}/${DASHBOARD_SERVICE}, and print its URL.`,
  flags: {
    port: { type: 'string', short: 'p', description: 'the local port (0: any free one)', default: '50750' },
    show: { type: 'string', description: 'url: print the URL and keep serving (no browser is opened either way)', default: 'url' },
  },
  globalFlags: GLOBAL_FLAGS,
  epilog: 'Serves until interrupted (Ctrl-C).\n\nExample:\n  trellis viz dashboard',
};

/** The dashboard's address on this machine. */
export const dashboardUrl = (port: number) => `http://localhost:${port}`;

export async function runVizDashboard(argv: readonly string[], io: CommandIo, until: Promise<unknown> = once(process, 'SIGINT')): Promise<number> {
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
    selector = (await core.readNamespacedService({ name: DASHBOARD_SERVICE, namespace: VIZ_NAMESPACE })).spec?.selector;
  } catch (err) {
    if ((err as { code?: number }).code === 404) throw new ConfigError(`the dashboard is not installed (no Service ${VIZ_NAMESPACE}/${DASHBOARD_SERVICE}): trellis viz install | kubectl apply -f -`);
    throw err;
  }
  const labelSelector = Object.entries(selector ?? {}).map(([k, val]) => `${k}=${val}`).join(',');
  const pods = labelSelector ? (await core.listNamespacedPod({ namespace: VIZ_NAMESPACE, labelSelector })).items : [];
  const pod = pods.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  if (!pod) throw new ConfigError(`no running pod behind Service ${VIZ_NAMESPACE}/${DASHBOARD_SERVICE} (see trellis viz check)`);
  const fwd = await forwardPort(kc, VIZ_NAMESPACE, pod.metadata?.name ?? '', DASHBOARD_PORT, port);
  io.stdout.write(`Trellis dashboard available at:\n${dashboardUrl(fwd.port)}\n`);
  await until;
  await fwd.close();
  return 0;
}
