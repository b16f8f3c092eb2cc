// Tracing settings (docs/reference/tracing.md): off unless LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR is set. The
// resource attributes every span is exported with are gathered at start, in Linkerd's order of precedence (later
// wins): service.name, the pod's labels file, LINKERD2_PROXY_TRACE_EXTRA_ATTRIBUTES, OTEL_RESOURCE_ATTRIBUTES.
import { readFileSync } from 'node:fs';
import { badValue, controlAddr, type ControlAddr, type Env } from '../identity/env.ts';

export interface TraceConfig {
  readonly collector: ControlAddr;
  /** The collector's identity, checked with mTLS when the proxy is meshed; undefined: plaintext. */
  readonly collectorName: string | undefined;
  readonly serviceName: string;
  /** Resource attributes, service.name included. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Problems met reading the labels file (the proxy starts anyway and logs them, as Linkerd does). */
  readonly warnings: readonly string[];
}

/**
 * `key=value` lines, as the downward API writes a pod's labels (`app="web"`): the first `=` splits, surrounding
 * double quotes are dropped, lines without `=` are skipped.
 */
export function parseAttributeLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    if (key === '') continue;
    out[key] = line
      .slice(i + 1)
      .trim()
      .replace(/^"+|"+$/g, '');
  }
  return out;
}

/** OTEL_RESOURCE_ATTRIBUTES: comma-separated `key=value` pairs, values percent-encoded (OpenTelemetry's format). */
export function parseOtelResourceAttributes(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    const key = pair.slice(0, i).trim();
    const raw = pair.slice(i + 1).trim();
    let v = raw;
    try {
      v = decodeURIComponent(raw);
    } catch {
      // Not percent-encoded after all: taken as written.
    }
    if (key !== '') out[key] = v;
  }
  return out;
}

const raw = (env: Env, name: string) => {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
};

/** undefined: tracing off. Throws ConfigError naming the variable for a bad address or protocol. */
export function parseTraceConfig(env: Env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): TraceConfig | undefined {
  const addr = raw(env, 'LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR');
  if (addr === undefined) return undefined;
  const collector = controlAddr('LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR', addr);
  const protocol = raw(env, 'LINKERD2_PROXY_TRACE_PROTOCOL')?.trim().toLowerCase() ?? 'opentelemetry';
  if (protocol !== 'opentelemetry') {
    throw badValue('LINKERD2_PROXY_TRACE_PROTOCOL', protocol, 'only "opentelemetry" (OTLP over gRPC) is supported; OpenCensus is not');
  }
  const serviceName = raw(env, 'LINKERD2_PROXY_TRACE_SERVICE_NAME')?.trim() ?? 'linkerd-proxy';
  const warnings: string[] = [];
  let labels: Record<string, string> = {};
  const labelsPath = raw(env, 'LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH');
  if (labelsPath !== undefined) {
    try {
      labels = parseAttributeLines(readFile(labelsPath.trim()));
    } catch (e) {
      warnings.push(`cannot read trace attributes from ${labelsPath} (LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH): ${(e as Error).message}`);
    }
  }
  const extra = parseAttributeLines(raw(env, 'LINKERD2_PROXY_TRACE_EXTRA_ATTRIBUTES') ?? '');
  const otel = parseOtelResourceAttributes(raw(env, 'OTEL_RESOURCE_ATTRIBUTES') ?? '');
  const name = raw(env, 'LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME')?.trim().replace(/\.$/, '');
  return Object.freeze({
    collector,
    collectorName: collector.loopback ? undefined : name,
    serviceName,
    attributes: Object.freeze({ 'service.name': serviceName, ...labels, ...extra, ...otel }),
    warnings: Object.freeze(warnings),
  });
}
