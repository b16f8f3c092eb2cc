// `trellis viz stat`: Linkerd's golden-metrics table (success rate, RPS, latency percentiles, TCP connections) for
// workloads or pods, read straight from their proxies over the API server: no Prometheus to install first.
import { ConfigError, parseCommandLine, parseDuration, parseEnum, type CommandSpec } from '@trellis/config';
import { parsePrometheusText, type Sample } from '@trellis/telemetry';
import { isMeshed, parseResource, proxyAdminGet, resourcePods } from '../viz/pods.ts';
import { renderStatTable, statRow, type PodScrape } from '../viz/stat.ts';
import type { CommandIo } from './io.ts';
import { clusterSelection, GLOBAL_FLAGS, loadCluster, targetNamespace } from '../cluster/kubeconfig.ts';

export const STAT_SPEC: CommandSpec = {
  name: 'trellis viz stat',
  summary: 'Golden metrics of meshed workloads: TYPE (deploy, sts, ds, po) or TYPE/NAME.',
  allowPositionals: true,
  flags: {
    'time-window': { type: 'string', short: 't', description: 'how long to measure (each proxy is read at the start and the end)', default: '10s' },
    output: { type: 'string', short: 'o', description: 'output format (table, json)', default: 'table' },
  },
  globalFlags: GLOBAL_FLAGS,
  args: 'TYPE[/NAME]',
  epilog: 'Example:\n  trellis viz stat deploy -n emojivoto',
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runStat(argv: readonly string[], io: CommandIo): Promise<number> {
  const cl = parseCommandLine(STAT_SPEC, argv, io.stdout);
  if (cl.kind === 'exit') return cl.code;
  const v = cl.values;
  if (cl.positionals.length !== 1) throw new ConfigError(`expected one resource (e.g. deploy or deploy/web), got ${cl.positionals.length}`);
  const ref = parseResource(cl.positionals[0] as string);
  const windowMs = parseDuration('--time-window', String(v['time-window']));
  if (windowMs < 1000) throw new ConfigError(`invalid value "${String(v['time-window'])}" for --time-window: at least 1s`);
  const output = parseEnum<'table' | 'json'>('--output', String(v['output']), ['table', 'json']);
  const kc = loadCluster(clusterSelection(v));
  const namespace = targetNamespace(v, kc);

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
  const rows = resources.map((r) => {
    const scrapes: PodScrape[] = [];
    meshed.forEach((m, i) => {
      const b = before[i];
      const a = after[i];
      if (m.resource === r.name && a && b) scrapes.push({ before: b, after: a });
    });
    return statRow(r.name, r.pods.length, scrapes, windowMs / 1000);
  });
  if (rows.length === 0) {
    io.stderr.write(`No resources of type ${ref.kind} found in namespace ${namespace}.\n`);
    return 0;
  }
  io.stdout.write(output === 'json' ? JSON.stringify(rows, null, 2) + '\n' : renderStatTable(rows));
  return 0;
}
