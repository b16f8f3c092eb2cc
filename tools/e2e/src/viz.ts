// The viz pieces on the host beside the local cluster: the pinned Prometheus, discovering the meshed pods through the
// API server and scraping their proxies the way Linkerd's viz Prometheus does (same relabelling, so the series carry
// namespace, pod and deployment labels), and the metrics API bundle querying it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, toolPath } from '@trellis/cluster/src/tools.ts';

export const METRICS_API = join(REPO_ROOT, 'dist/apps/metrics-api/main.js');

/**
 * Linkerd viz's scrape jobs for the proxies and the control plane: pods are found through the API server
 * (kubeconfig_file: Prometheus runs outside the cluster here), a proxy is the `linkerd-proxy` container's
 * `linkerd-admin` port in a pod of our control plane, and the pod's linkerd.io/proxy-<kind> labels become <kind>.
 */
export function prometheusConfig(o: { kubeconfig: string; controlPlaneNamespace: string; scrapeInterval: string }): string {
  const sd = (namespaces?: readonly string[]) => [
    '  kubernetes_sd_configs:',
    '  - role: pod',
    `    kubeconfig_file: ${JSON.stringify(o.kubeconfig)}`,
    ...(namespaces ? ['    namespaces:', `      names: [${namespaces.map((n) => JSON.stringify(n)).join(', ')}]`] : []),
  ];
  return [
    'global:',
    `  scrape_interval: ${o.scrapeInterval}`,
    `  scrape_timeout: ${o.scrapeInterval}`,
    'scrape_configs:',
    '- job_name: linkerd-controller',
    ...sd([o.controlPlaneNamespace]),
    '  relabel_configs:',
    '  - {source_labels: [__meta_kubernetes_pod_container_port_name], action: keep, regex: ".*admin$"}',
    '  - {source_labels: [__meta_kubernetes_pod_container_port_name], action: drop, regex: linkerd-admin}',
    '  - {source_labels: [__meta_kubernetes_pod_container_name], action: replace, target_label: component}',
    '- job_name: linkerd-proxy',
    ...sd(),
    '  relabel_configs:',
    '  - {source_labels: [__meta_kubernetes_pod_phase], action: keep, regex: "(Pending|Running)"}',
    '  - source_labels: [__meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name, __meta_kubernetes_pod_label_linkerd_io_control_plane_ns]',
    '    action: keep',
    `    regex: "^linkerd-proxy;linkerd-admin;${o.controlPlaneNamespace}$"`,
    '  - {source_labels: [__meta_kubernetes_namespace], action: replace, target_label: namespace}',
    '  - {source_labels: [__meta_kubernetes_pod_name], action: replace, target_label: pod}',
    // A Job's label is k8s_job: `job` is Prometheus' own (the scrape job).
    '  - {source_labels: [__meta_kubernetes_pod_label_linkerd_io_proxy_job], action: replace, target_label: k8s_job}',
    '  - {action: labeldrop, regex: __meta_kubernetes_pod_label_linkerd_io_proxy_job}',
    '  - {action: labelmap, regex: "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"}',
    '  - {action: labeldrop, regex: "__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)"}',
    '  - {action: labelmap, regex: "__meta_kubernetes_pod_label_linkerd_io_(.+)"}',
    '  - {action: labelmap, regex: "__meta_kubernetes_pod_label_(.+)", replacement: "__tmp_pod_label_$1"}',
    '  - {action: labelmap, regex: "__tmp_pod_label_linkerd_io_(.+)", replacement: "__tmp_pod_label_$1"}',
    '  - {action: labeldrop, regex: "__tmp_pod_label_linkerd_io_(.+)"}',
    '  - {action: labelmap, regex: "__tmp_pod_label_(.+)"}',
    '',
  ].join('\n');
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
