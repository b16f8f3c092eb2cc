// A real trace collector for tests: Jaeger v2 (an OpenTelemetry Collector distribution) built by
// `tools/bin/ensure jaeger`, with in-memory storage, its OTLP gRPC receiver on a free port and its query API read
// back over HTTP (/api/traces/{id}, Jaeger's JSON: spans with references, microsecond times, tags, processes).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references: readonly { refType: string; traceID: string; spanID: string }[];
  /** Microseconds since the epoch. */
  readonly startTime: number;
  /** Microseconds. */
  readonly duration: number;
  readonly tags: readonly { key: string; type: string; value: string | number | boolean }[];
  readonly processID: string;
}

export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Record<string, { serviceName: string; tags: readonly { key: string; value: unknown }[] }>;
}

export interface Jaeger {
  /** host:port of the OTLP gRPC receiver. */
  readonly otlp: string;
  readonly queryUrl: string;
  /** The trace, once it holds at least `spans` spans (polled until `ms` pass). */
  trace(traceId: string, spans: number, ms?: number): Promise<JaegerTrace>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startJaeger(): Promise<Jaeger> {
  const bin = execFileSync(join(REPO, 'tools/bin/ensure'), ['jaeger'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const [otlp, query, queryGrpc, health] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'trellis-jaeger-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${health}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${query}
    grpc:
      endpoint: 127.0.0.1:${queryGrpc}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${otlp}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`,
  );
  const child: ChildProcess = spawn(bin, ['--config', `file:${config}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const queryUrl = `http://127.0.0.1:${query}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jaeger exited ${child.exitCode}:\n${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${health}/status`).then((r) => r.ok, () => false);
    const qok = ok && (await fetch(`${queryUrl}/api/services`).then((r) => r.ok, () => false));
    if (qok) break;
    if (Date.now() > deadline) throw new Error(`jaeger not ready within 60 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    otlp: `127.0.0.1:${otlp}`,
    queryUrl,
    async trace(traceId, spans, ms = 20_000) {
      const until = Date.now() + ms;
      for (;;) {
        const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
        if (res.ok) {
          const body = (await res.json()) as { data: JaegerTrace[] };
          const t = body.data[0];
          if (t && t.spans.length >= spans) return t;
        }
        if (Date.now() > until) throw new Error(`trace ${traceId} did not reach ${spans} spans in Jaeger within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
