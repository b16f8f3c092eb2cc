// `trellis viz stat`: Linkerd's golden-metrics table (success rate, RPS, latency percentiles, TCP connections).
// Answered by the viz extension's metrics API (Prometheus over a window) when viz is installed; otherwise each
// proxy is read twice through the API server, a window apart, and the command says so.
import { ConfigError, parseCommandLine, parseDuration, parseEnum, type CommandSpec } from '@trellis/config';
import { parsePrometheusText, type Sample } from '@trellis/telemetry';
import type { KubeConfig } from '@kubernetes/client-node';
import { isMeshed, parseResource, proxyAdminGet, resourcePods } from '../viz/pods.ts';
import { reachMetricsApi } from '../viz/metrics-api.ts';
import { renderStatTable, rowFromApi, statRow, type ApiStatRow, type PodScrape, type StatRow } from '../viz/stat.ts';
import type { CommandIo } from './io.ts';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';

export const METRICS_API_FLAG = {
  'metrics-api': { type: 'string', value: 'URL', description: "the metrics API's URL, reached directly (default: through the API server, else a port-forward)" },
} as const;

export const STAT_SPEC: CommandSpec = {
  name: 'trellis viz stat',
  summary: 'Golden metrics of meshed resources: TYPE or TYPE/NAME (deploy, sts, ds, job, po, ns, svc, au, all).',
  allowPositionals: true,
  flags: {
    'time-window': { type: 'string', short: 't', description: 'the window (default 1m from the metrics API, 10s when reading the proxies)' },
    output: { type: 'string', short: 'o', description: 'output format (table, wide, json)', default: 'table' },
    'all-namespaces': { type: 'boolean', short: 'A', description: 'every namespace' },
    selector: { type: 'string', short: 'l', value: 'SELECTOR', description: 'label selector of the resources' },
    from: { type: 'string', value: 'TYPE/NAME', description: 'only requests from this resource' },
    'from-namespace': { type: 'string', value: 'NS', description: "the --from resource's namespace (default: -n)" },
    to: { type: 'string', value: 'TYPE/NAME', description: 'only requests to this resource' },
    'to-namespace': { type: 'string', value: 'NS', description: "the --to resource's namespace (default: -n)" },
    ...METRICS_API_FLAG,
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE[/NAME]',
  epilog: [
    'Without the viz extension (trellis viz install) only deploy, sts, ds and po are measured, by reading each',
    'proxy at the start and the end of the window; --from, --to, -A and -l need the extension.',
    '',
    'Example:',
    '  trellis viz stat deploy -n emojivoto',
    '  trellis viz stat deploy -n emojivoto --to deploy/voting',
  ].join('\n'),
};

/** The long name of a type, as the messages say it (statefulset for sts). */
function typeName(resource: string): string {
  try {
    return parseResource(resource).kind;
  } catch {
    return resource.split('/')[0] ?? resource;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export async function runStat(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(STAT_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one resource (e.g. deploy or deploy/web), got ${cl.positionals.length}`);
  const resource = cl.positionals[0] as string;
  const window = str(v['time-window']);
  const windowMs = window === undefined ? undefined : parseDuration('--time-window', window);
  if (windowMs !== undefined && windowMs < 1000) throw new ConfigError(`invalid value "${window}" for --time-window: at least 1s`);
  const output = parseEnum<'table' | 'wide' | 'json'>('--output', String(v['output']), ['table', 'wide', 'json']);
  const all = v['all-namespaces'] === true;
  const kc = loadCluster(clusterSelection(v));
  const namespace = targetNamespace(v, kc);
  const query = {
    resource,
    namespace: all ? undefined : namespace,
    window: window ?? '1m',
    labelSelector: str(v['selector']),
    from: str(v['from']),
    fromNamespace: str(v['from']) ? (str(v['from-namespace']) ?? namespace) : undefined,
    to: str(v['to']),
    toNamespace: str(v['to']) ? (str(v['to-namespace']) ?? namespace) : undefined,
  };
  const reached = await reachMetricsApi(kc, str(v['metrics-api']), (api) => api.get<{ window: string; rows: ApiStatRow[] }>('/api/v1/stat', query));
  let rows: StatRow[];
  if ('result' in reached) {
    await reached.api.close();
    const seconds = parseDuration('window', reached.result.window) / 1000;
    rows = reached.result.rows.map((r) => rowFromApi(r, seconds));
  } else {
    const needs = [query.from && '--from', query.to && '--to', all && '-A', query.labelSelector && '-l'].filter(Boolean);
    if (needs.length) throw new ConfigError(`${needs.join(', ')} ${needs.length > 1 ? 'need' : 'needs'} the viz extension's metrics API, and ${reached.absent}: trellis viz install | kubectl apply -f -`);
    const ms = windowMs ?? 10_000;
    io.stderr.write(`trellis viz stat: ${reached.absent}; reading each proxy directly over ${ms / 1000}s instead\n`);
    rows = await scrapeRows(kc, namespace, resource, ms, io);
  }
  if (rows.length === 0) {
    io.stderr.write(`No resources of type ${typeName(resource)} found${all ? '' : ` in namespace ${namespace}`}.\n`);
    return 0;
  }
  io.stdout.write(output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : renderStatTable(rows, { namespaces: all, wide: output === 'wide' }));
  return 0;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The direct scrape: each meshed pod's proxy read at the start and the end of the window. */
async function scrapeRows(kc: KubeConfig, namespace: string, resource: string, windowMs: number, io: CommandIo): Promise<StatRow[]> {
  const ref = parseResource(resource);
  const resources = await resourcePods(kc, namespace, ref);
  const meshed = resources.flatMap((r) => r.pods.filter(isMeshed).map((p) => ({ resource: r.name, pod: p.metadata?.name ?? '' })));
  const scrape = async (pod: string): Promise<Sample[] | undefined> => {
    try {
      return parsePrometheusText(await proxyAdminGet(kc, namespace, pod, 'metrics'));
    } catch (err) {
      io.stderr.write(`trellis viz stat: cannot read the proxy of ${namespace}/${pod}: ${(err as Error).message}\n`);
      return undefined;
    }
  };
  const before = await Promise.all(meshed.map((m) => scrape(m.pod)));
  await sleep(windowMs);
  const after = await Promise.all(meshed.map((m) => scrape(m.pod)));
  return resources.map((r) => {
    const scrapes: PodScrape[] = [];
    meshed.forEach((m, i) => {
      const b = before[i];
      const a = after[i];
      if (m.resource === r.name && a && b) scrapes.push({ before: b, after: a });
    });
    return statRow(r.name, r.pods.length, scrapes, windowMs / 1000);
  });
}
