// The span collector of the bench's --trace pair: the pinned Jaeger v2 (`tools/bin/ensure jaeger`) with in-memory
// storage, one per pod namespace on loopback (the proxies send OTLP over gRPC in plaintext to a loopback
// collector, as they do to the stub control plane), and what it holds read back from its query API.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const OTLP_ADDR = '127.0.0.1:4317';
const QUERY = '127.0.0.1:16686';

/** Jaeger's command line, with its config written to `dir`; it prints "Everything is ready" once it accepts spans. */
export function jaegerArgv(root: string, dir: string): string[] {
  const bin = execFileSync(join(root, 'tools', 'bin', 'ensure'), ['jaeger'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const config = join(dir, 'jaeger.yaml');
  // One trace id is all a fortio run sends (its traceparent header is fixed), so max_traces bounds little; the
  // spans of that trace are what the memory holds (~35k per proxy for 10 s x 3 runs, tens of MiB).
  writeFileSync(
    config,
    `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: ${QUERY}
    grpc:
      endpoint: 127.0.0.1:16685
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 1000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${OTLP_ADDR}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`,
  );
  return [bin, '--config', `file:${config}`];
}

/** Spans Jaeger in `ns` holds for `traceId` (its query API, from inside the namespace); 0 when it has none. */
export function spansInJaeger(ns: string, traceId: string): number {
  try {
    const body = execFileSync('ip', ['netns', 'exec', ns, 'curl', '-sf', '--max-time', '30', `http://${QUERY}/api/traces/${traceId}`], { maxBuffer: 1 << 30 }).toString();
    const t = (JSON.parse(body) as { data?: { spans: unknown[] }[] }).data?.[0];
    return t ? t.spans.length : 0;
  } catch {
    return 0;
  }
}
