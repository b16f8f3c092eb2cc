// The real parts the dashboard test runs beside the dashboard itself: the pinned Prometheus (tools/bin, built on
// first use), the metrics API and the tap API from their sources, each on a free port, stopped and cleaned up after.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..', '..', '..');
const PROMETHEUS = join(REPO, 'tools/bin/prometheus');
const METRICS_API_MAIN = join(REPO, 'apps/metrics-api/src/main.ts');

export interface Running {
  readonly url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function collect(child: ChildProcess): () => string {
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  return () => log;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function waitFor<T>(what: string, child: ChildProcess, log: () => string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${log().slice(-3000)}`);
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${what} not ready within ${timeoutMs} ms:\n${log().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Prometheus with this configuration, its data in a temporary directory. The first use builds it (minutes). */
export async function startPrometheus(configYaml: string): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'trellis-web-prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), configYaml);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = collect(child);
  try {
    await waitFor('prometheus', child, log, () => fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => (r.ok ? true : undefined), () => undefined), 15 * 60_000);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The metrics API from its sources (Node strips the types), on the port it reports in its "listening" line. */
export async function startMetricsApi(o: { kubeconfig: string; prometheusUrl: string }): Promise<Running> {
  const child = spawn(
    process.execPath,
    [METRICS_API_MAIN, '--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--prometheus-url', o.prometheusUrl, '--kubeconfig', o.kubeconfig, '--log-format', 'json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = collect(child);
  const addr = await waitFor('metrics-api', child, log, async () => /"api":"(127\.0\.0\.1:\d+)"/.exec(log())?.[1], 60_000);
  return { url: `http://${addr}`, stop: () => stopChild(child) };
}

const TAP_API_MAIN = join(REPO, 'apps/tap/src/main.ts');

/** The tap API from its sources, serving TLS on all addresses (the API server's aggregator calls it), its port. */
export async function startTapApi(o: { kubeconfig: string; tlsCert: string; tlsKey: string; tapPort: number }): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [TAP_API_MAIN, '--addr', '0.0.0.0:0', '--admin-addr', '127.0.0.1:0', '--tls-cert', o.tlsCert, '--tls-key', o.tlsKey, '--tap-port', String(o.tapPort), '--kubeconfig', o.kubeconfig, '--log-format', 'json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = collect(child);
  const port = await waitFor('tap API', child, log, async () => /"api":"[^"]*:(\d+)"/.exec(log())?.[1], 60_000);
  return { port: Number(port), stop: () => stopChild(child) };
}
