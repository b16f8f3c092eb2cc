// `trellis viz edges TYPE`: who calls whom among the meshed workloads right now and whether the connection is mTLS,
// from the viz extension's metrics API (the clients' open outbound connections, with the identities at each end).
import { ConfigError, parseCommandLine, parseEnum, type CommandSpec } from '@trellis/config';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';
import { renderTable } from '../diagnostics/render.ts';
import { reachMetricsApi } from '../viz/metrics-api.ts';
import type { CommandIo } from './io.ts';
import { METRICS_API_FLAG } from './viz.ts';

export const EDGES_SPEC: CommandSpec = {
  name: 'trellis viz edges',
  summary: 'The edges between meshed resources of a TYPE (deploy, sts, ds, job, po, ns): source, destination, mTLS.',
  allowPositionals: true,
  flags: {
    output: { type: 'string', short: 'o', description: 'output format (table, wide, json)', default: 'table' },
    'all-namespaces': { type: 'boolean', short: 'A', description: 'every namespace' },
    ...METRICS_API_FLAG,
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE',
  epilog: 'Needs the viz extension (trellis viz install).\n\nExample:\n  trellis viz edges deploy -n emojivoto',
};

/** An edge of the metrics API's /api/v1/edges answer (apps/metrics-api/README.md). */
export interface ApiEdge {
  readonly src: { readonly type: string; readonly namespace: string; readonly name: string };
  readonly dst: { readonly type: string; readonly namespace: string; readonly name: string };
  readonly clientId: string;
  readonly serverId: string;
  readonly secured: boolean;
  readonly noTlsReason: string;
}

/** Linkerd's columns: SECURED is √, or × with the reason there is no mTLS; wide adds the identities. */
export function renderEdges(edges: readonly ApiEdge[], wide: boolean): string {
  const header = ['SRC', 'DST', 'SRC_NS', 'DST_NS', 'SECURED', ...(wide ? ['CLIENT_ID', 'SERVER_ID'] : [])];
  const sorted = [...edges].sort((a, b) => a.src.namespace.localeCompare(b.src.namespace) || a.src.name.localeCompare(b.src.name) || a.dst.name.localeCompare(b.dst.name));
  return renderTable(
    header,
    sorted.map((e) => [e.src.name, e.dst.name, e.src.namespace, e.dst.namespace, e.secured ? '√' : `× ${e.noTlsReason || 'not secured'}`, ...(wide ? [e.clientId || '-', e.serverId || '-'] : [])]),
  );
}

export async function runEdges(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(EDGES_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one resource type (e.g. deploy), got ${cl.positionals.length}`);
  const output = parseEnum<'table' | 'wide' | 'json'>('--output', String(v['output']), ['table', 'wide', 'json']);
  const all = v['all-namespaces'] === true;
  const kc = loadCluster(clusterSelection(v));
  const namespace = targetNamespace(v, kc);
  const url = typeof v['metrics-api'] === 'string' && v['metrics-api'] !== '' ? v['metrics-api'] : undefined;
  const query = { resource: cl.positionals[0] as string, namespace: all ? undefined : namespace };
  const reached = await reachMetricsApi(kc, url, (api) => api.get<{ edges: ApiEdge[] }>('/api/v1/edges', query));
  if ('absent' in reached) throw new ConfigError(`trellis viz edges needs the viz extension's metrics API, and ${reached.absent}: trellis viz install | kubectl apply -f -`);
  await reached.api.close();
  const edges = reached.result.edges;
  if (output === 'json') io.stdout.write(`${JSON.stringify(edges, null, 2)}\n`);
  else if (edges.length === 0) io.stderr.write(`No edges found${all ? '' : ` in namespace ${namespace}`}.\n`);
  else io.stdout.write(renderEdges(edges, output === 'wide'));
  return 0;
}
