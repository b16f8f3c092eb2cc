// The viz pieces on the host beside the local cluster: the pinned Prometheus with the viz chart's scrape
// configuration, discovering the meshed pods through the API server and scraping their proxies the way Linkerd's
// viz Prometheus does (so the series carry namespace, pod and deployment labels), and the metrics API bundle.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, toolPath } from '@trellis/cluster/src/tools.ts';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { exec } from './kube.ts';

export const METRICS_API = join(REPO_ROOT, 'dist/apps/metrics-api/main.js');

const VIZ_CHART = join(REPO_ROOT, 'helm/trellis-viz');

/**
 * The viz chart's own prometheus.yml (Linkerd viz's scrape jobs and relabelling), rendered by helm, with each pod
 * discovery given the cluster's kubeconfig: Prometheus runs on the host here, not in a pod with a service account.
 */
export async function prometheusConfig(o: { kubeconfig: string; scrapeInterval: string }): Promise<string> {
  const versions = await readFile(join(REPO_ROOT, 'tools/bin/versions.env'), 'utf8');
  const kubeVersion = /^KUBERNETES_VERSION=(\S+)$/m.exec(versions)?.[1] ?? '';
  const rendered = await exec(await toolPath('helm'), [
    'template', 'trellis-viz', VIZ_CHART, '--namespace', 'trellis-viz', '--kube-version', kubeVersion,
    '--set', `prometheus.scrapeInterval=${o.scrapeInterval}`, '--set', `prometheus.scrapeTimeout=${o.scrapeInterval}`,
  ]);
  const configMap = parseAllDocuments(rendered)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> } | null)
    .find((x) => x?.kind === 'ConfigMap' && x.metadata?.name === 'prometheus-config');
  const text = configMap?.data?.['prometheus.yml'];
  if (!text) throw new Error('the trellis-viz chart rendered no prometheus-config ConfigMap');
  const config = parse(text) as { scrape_configs: { kubernetes_sd_configs?: Record<string, unknown>[] }[] };
  for (const job of config.scrape_configs) for (const sd of job.kubernetes_sd_configs ?? []) sd['kubeconfig_file'] = o.kubeconfig;
  return stringify(config);
}

export interface Running {
  readonly url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
}

async function waitFor(what: string, child: ChildProcess, log: () => string, probe: () => Promise<string | undefined>, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${log().slice(-3000)}`);
    const got = await probe();
    if (got) return got;
    if (Date.now() > deadline) {
      await stopper(child)();
      throw new Error(`${what} not ready within ${timeoutMs} ms:\n${log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Prometheus on a free loopback port with this configuration, its data under dir. */
export async function startPrometheus(dir: string, config: string): Promise<Running> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child = spawn(await toolPath('prometheus'), [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  await waitFor('prometheus', child, () => log, () => fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => (r.ok ? url : undefined), () => undefined), 60_000);
  return { url, stop: stopper(child) };
}

/** The metrics API bundle, on a free loopback port it reports in its "listening" log line. */
export async function startMetricsApi(o: { kubeconfig: string; prometheusUrl: string }): Promise<Running> {
  let log = '';
  const child = spawn(
    process.execPath,
    [METRICS_API, '--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--prometheus-url', o.prometheusUrl, '--kubeconfig', o.kubeconfig, '--log-format', 'json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const api = await waitFor('metrics-api', child, () => log, async () => /"api":"(127\.0\.0\.1:\d+)"/.exec(log)?.[1], 30_000);
  return { url: `http://${api}`, stop: stopper(child) };
}

/** One instant query, for what the test checks in Prometheus itself. */
export async function promQuery(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`prometheus query ${query}: ${body.error}`);
  return body.data?.result ?? [];
}

interface DashboardFile {
  uid: string;
  templating: { list: { name: string; type: string; definition?: string }[] };
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
}

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
}

/**
 * Every panel query of the viz chart's Grafana dashboards with its variables filled in as Grafana would: each
 * `label_values(series, label)` variable asked of Prometheus in order, taking the preferred value when offered.
 */
export async function dashboardQueries(prometheusUrl: string, prefer: Readonly<Record<string, (value: string) => boolean>>, rateInterval: string): Promise<PanelQuery[]> {
  const dir = join(VIZ_CHART, 'dashboards');
  const out: PanelQuery[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json')).sort()) {
    const d = JSON.parse(await readFile(join(dir, file), 'utf8')) as DashboardFile;
    const values: Record<string, string> = { __rate_interval: rateInterval };
    const fill = (text: string) => text.replace(/\$(\w+)/g, (m, name: string) => values[name] ?? m);
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\((.*), (\w+)\)$/.exec(fill(v.definition ?? ''));
      if (!m) throw new Error(`${d.uid}: variable ${v.name} is not a label_values() query: ${v.definition}`);
      const offered = (await promQuery(prometheusUrl, `count by (${m[2]}) (${m[1]})`)).map((s) => s.metric[m[2] as string] ?? '').filter(Boolean).sort();
      values[v.name] = offered.find((x) => prefer[v.name]?.(x) ?? true) ?? offered[0] ?? '';
    }
    let row = '';
    for (const p of d.panels) {
      if (p.type === 'row') row = fill(p.title);
      for (const t of p.targets ?? []) out.push({ dashboard: d.uid, panel: `${row}: ${p.title}`, expr: fill(t.expr) });
    }
  }
  return out;
}
