// `trellis viz routes TYPE/NAME`: per-route success rate, RPS and latency of a resource's routes (its Services'
// ServiceProfile routes and its HTTPRoutes/GRPCRoutes), inbound, or outbound towards --to, from the viz extension's
// metrics API.
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec } from '@trellis/config';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';
import { reachMetricsApi } from '../viz/metrics-api.ts';
import { renderRoutes, routesJson, type ApiRouteRow } from '../viz/routes.ts';
import type { CommandIo } from './io.ts';
import { METRICS_API_FLAG } from './viz.ts';

export const ROUTES_SPEC: CommandSpec = {
  name: 'trellis viz routes',
  summary: "Per-route metrics of a resource's ServiceProfile and HTTPRoute routes: TYPE/NAME (deploy, sts, ds, job, po, svc).",
  allowPositionals: true,
  flags: {
    'time-window': { type: 'string', short: 't', description: 'the window', default: '1m' },
    output: { type: 'string', short: 'o', description: 'output format (table, wide, json); wide needs --to', default: 'table' },
    to: { type: 'string', value: 'TYPE/NAME', description: "the routes of this resource's Services as the resource calls them (outbound)" },
    'to-namespace': { type: 'string', value: 'NS', description: "the --to resource's namespace (default: -n)" },
    ...METRICS_API_FLAG,
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE/NAME',
  epilog: [
    'Without --to, the routes the resource serves (its pods\' inbound traffic); with --to, the routes of the --to',
    "resource's Services as the resource's pods call them. [DEFAULT] counts the requests that matched no route.",
    'Needs the viz extension (trellis viz install).',
    '',
    'Example:',
    '  trellis viz routes deploy/web -n emojivoto',
    '  trellis viz routes deploy/web -n emojivoto --to svc/voting-svc -o wide',
  ].join('\n'),
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export async function runRoutes(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(ROUTES_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one resource (e.g. deploy/web), got ${cl.positionals.length}`);
  const resource = cl.positionals[0] as string;
  if (!resource.includes('/')) throw new ConfigError(`expected TYPE/NAME (e.g. deploy/web), got "${resource}"`);
  const output = parseEnum<'table' | 'wide' | 'json'>('--output', String(v['output']), ['table', 'wide', 'json']);
  const to = str(v['to']);
  if (output === 'wide' && !to) throw new ConfigError('-o wide shows effective and actual (retried) requests, which only the client sees: it needs --to');
  const kc = loadCluster(clusterSelection(v));
  const namespace = targetNamespace(v, kc);
  const query = { resource, namespace, window: String(v['time-window']), to, toNamespace: to ? (str(v['to-namespace']) ?? namespace) : undefined };
  const reached = await reachMetricsApi(kc, str(v['metrics-api']), (api) => api.get<{ window: string; rows: ApiRouteRow[] }>('/api/v1/routes', query));
  if ('absent' in reached) throw new ConfigError(`trellis viz routes needs the viz extension's metrics API, and ${reached.absent}: trellis viz install | kubectl apply -f -`);
  await reached.api.close();
  const rows = reached.result.rows;
  if (output === 'json') io.stdout.write(routesJson(resource, rows, Boolean(to)));
  else if (rows.length === 0) io.stderr.write(`No routes found for ${resource}${to ? ` to ${to}` : ''} in namespace ${namespace}: its Services have no ServiceProfile routes and no route carried traffic in the window.\n`);
  else io.stdout.write(renderRoutes(rows, output === 'wide'));
  return 0;
}
