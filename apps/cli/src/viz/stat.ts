// Golden metrics of a resource from its pods' proxies, without Prometheus: two scrapes of each proxy, a window
// apart, give the requests, successes and latency histogram of that window (inbound, as `linkerd viz stat` shows).
import type { Sample } from '@trellis/telemetry';

export interface StatRow {
  readonly name: string;
  /** Set when the rows span namespaces (-A) or come from the metrics API. */
  readonly namespace?: string;
  /** The resource type, from the metrics API (deployment, service, authority, ...). */
  readonly type?: string;
  /** Undefined for services and authorities, which have no pods of their own. */
  readonly meshed?: number;
  readonly pods?: number;
  /** Undefined when no request completed in the window. */
  readonly successRate?: number;
  readonly rps?: number;
  readonly latencyMs?: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly tcpConnections?: number;
  /** From the metrics API: the share of responses over mTLS, and the TCP bytes per second of the window. */
  readonly securedRate?: number;
  readonly readBytesPerSec?: number;
  readonly writeBytesPerSec?: number;
}

/** One pod's proxy, scraped at the start and the end of the window. */
export interface PodScrape {
  readonly before: readonly Sample[];
  readonly after: readonly Sample[];
}

/**
 * The resource's own inbound traffic: not what reached the proxy's admin port (the kubelet's probes and
 * Prometheus' scrapes of 4191 show up as inbound series with that target_addr).
 */
const inbound = (s: Sample) => s.labels['direction'] === 'inbound' && !s.labels['target_addr']?.endsWith(`:${ADMIN_PORT}`);
const ADMIN_PORT = 4191;

function sum(samples: readonly Sample[], name: string, pick: (s: Sample) => boolean = () => true): number {
  let n = 0;
  for (const s of samples) if (s.name === name && inbound(s) && pick(s)) n += s.value;
  return n;
}

/** Cumulative bucket counts by upper bound, summed over every inbound series. */
function buckets(samples: readonly Sample[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== 'response_latency_ms_bucket' || !inbound(s)) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket the rank falls in. */
export function histogramQuantile(q: number, cumulative: ReadonlyMap<number, number>): number | undefined {
  const bounds = [...cumulative.keys()].sort((a, b) => a - b);
  const total = cumulative.get(Infinity) ?? (bounds.length ? (cumulative.get(bounds[bounds.length - 1] as number) ?? 0) : 0);
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const count = cumulative.get(b) ?? 0;
    if (count >= rank) {
      if (b === Infinity) return prevBound;
      if (count === prevCount) return b;
      return prevBound + (b - prevBound) * ((rank - prevCount) / (count - prevCount));
    }
    prevBound = b;
    prevCount = count;
  }
  return prevBound;
}

/** Counters of the window; a proxy that restarted mid-window (counters went down) counts from zero. */
function delta(after: number, before: number): number {
  return after >= before ? after - before : after;
}

export function statRow(name: string, pods: number, scrapes: readonly PodScrape[], windowSeconds: number): StatRow {
  let requests = 0;
  let successes = 0;
  let responses = 0;
  let connections = 0;
  const hist = new Map<number, number>();
  for (const { before, after } of scrapes) {
    requests += delta(sum(after, 'request_total'), sum(before, 'request_total'));
    responses += delta(sum(after, 'response_total'), sum(before, 'response_total'));
    successes += delta(
      sum(after, 'response_total', (s) => s.labels['classification'] === 'success'),
      sum(before, 'response_total', (s) => s.labels['classification'] === 'success'),
    );
    connections += sum(after, 'tcp_open_connections');
    const a = buckets(after);
    const b = buckets(before);
    for (const [le, n] of a) hist.set(le, (hist.get(le) ?? 0) + delta(n, b.get(le) ?? 0));
  }
  const row: StatRow = { name, meshed: scrapes.length, pods, ...(scrapes.length ? { tcpConnections: connections } : {}) };
  if (responses === 0) return row;
  const q = (x: number) => histogramQuantile(x, hist) ?? 0;
  return { ...row, successRate: successes / responses, rps: requests / windowSeconds, latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99) } };
}

const ms = (v: number) => `${v < 10 ? Math.max(1, Math.round(v)) : Math.round(v)}ms`;

function bytes(perSec: number | undefined): string {
  if (perSec === undefined) return '-';
  if (perSec >= 1 << 20) return `${(perSec / (1 << 20)).toFixed(1)}MB/s`;
  if (perSec >= 1 << 10) return `${(perSec / (1 << 10)).toFixed(1)}KB/s`;
  return `${perSec.toFixed(1)}B/s`;
}

export interface StatTableOptions {
  /** A NAMESPACE column first (-A). */
  readonly namespaces?: boolean;
  /** READ_BYTES/SEC and WRITE_BYTES/SEC (-o wide). */
  readonly wide?: boolean;
}

/** Linkerd's columns; `-` where the window saw no traffic. */
export function renderStatTable(rows: readonly StatRow[], opts: StatTableOptions = {}): string {
  const header = [...(opts.namespaces ? ['NAMESPACE'] : []), 'NAME', 'MESHED', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN', ...(opts.wide ? ['READ_BYTES/SEC', 'WRITE_BYTES/SEC'] : [])];
  const cells = rows.map((r) => [
    ...(opts.namespaces ? [r.namespace ?? ''] : []),
    r.name,
    r.meshed === undefined || r.pods === undefined ? '-' : `${r.meshed}/${r.pods}`,
    r.successRate === undefined ? '-' : `${(r.successRate * 100).toFixed(2)}%`,
    r.rps === undefined ? '-' : `${r.rps.toFixed(1)}rps`,
    r.latencyMs ? ms(r.latencyMs.p50) : '-',
    r.latencyMs ? ms(r.latencyMs.p95) : '-',
    r.latencyMs ? ms(r.latencyMs.p99) : '-',
    r.tcpConnections === undefined ? '-' : String(r.tcpConnections),
    ...(opts.wide ? [bytes(r.readBytesPerSec), bytes(r.writeBytesPerSec)] : []),
  ]);
  const left = opts.namespaces ? 2 : 1;
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]) => c.map((v, i) => (i < left ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join('   ');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** A row of the metrics API's /api/v1/stat answer (apps/metrics-api/README.md). */
export interface ApiStatRow {
  readonly resource: { readonly type: string; readonly namespace: string; readonly name: string };
  readonly pods?: { readonly running: number; readonly meshed: number; readonly failed: number };
  readonly stats: {
    readonly successRate: number | null;
    readonly rps: number;
    readonly securedRate: number | null;
    readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  } | null;
  readonly tcp: { readonly openConnections: number; readonly readBytes: number; readonly writeBytes: number } | null;
}

export function rowFromApi(r: ApiStatRow, windowSeconds: number): StatRow {
  const s = r.stats;
  const lat = s?.latencyMs;
  return {
    name: r.resource.name,
    namespace: r.resource.namespace,
    type: r.resource.type,
    ...(r.pods ? { meshed: r.pods.meshed, pods: r.pods.running } : {}),
    ...(s && s.successRate !== null ? { successRate: s.successRate, rps: s.rps } : {}),
    ...(lat && lat.p50 !== null ? { latencyMs: { p50: lat.p50, p95: lat.p95 ?? lat.p50, p99: lat.p99 ?? lat.p95 ?? lat.p50 } } : {}),
    ...(r.tcp ? { tcpConnections: r.tcp.openConnections, readBytesPerSec: r.tcp.readBytes / windowSeconds, writeBytesPerSec: r.tcp.writeBytes / windowSeconds } : {}),
    ...(s && s.securedRate !== null ? { securedRate: s.securedRate } : {}),
  };
}
