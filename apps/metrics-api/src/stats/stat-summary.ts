// A stat: the rows of one resource type (each object Kubernetes has, with its pod counts; authorities come from the
// metrics alone) joined with what Prometheus says about them over the window. `all` is every type, in one answer.
import type { Workloads } from '../kube/workloads.ts';
import type { PrometheusClient, Sample } from '../prometheus/client.ts';
import { statQueries, type Target } from './queries.ts';
import { ALL_TYPES, type ResourceType } from './resources.ts';
import type { Window } from './window.ts';

export interface BasicStats {
  readonly successCount: number;
  readonly failureCount: number;
  /** success / (success + failure); null without responses. */
  readonly successRate: number | null;
  /** Responses per second over the window. */
  readonly rps: number;
  /** Share of the responses that travelled over mTLS. */
  readonly securedRate: number | null;
  /** Milliseconds; null where the histogram had nothing in the window. */
  readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
}

export interface TcpStats {
  readonly openConnections: number;
  readonly readBytes: number;
  readonly writeBytes: number;
}

export interface StatRow {
  readonly resource: { readonly type: ResourceType; readonly namespace: string; readonly name: string };
  /** Pods of the object: running (Pending or Running), meshed among them, failed. Absent for services and authorities. */
  readonly pods?: { readonly running: number; readonly meshed: number; readonly failed: number };
  /** Null when nothing answered in the window. */
  readonly stats: BasicStats | null;
  readonly tcp: TcpStats | null;
}

export interface StatRequest {
  readonly type: ResourceType | 'all';
  readonly name?: string;
  readonly namespace?: string;
  readonly to?: Target;
  readonly from?: Target;
  readonly labelSelector?: string;
  readonly window: Window;
}

export interface StatContext {
  readonly prometheus: PrometheusClient;
  readonly workloads: Workloads;
  readonly adminPort: number;
  /** Seconds since the epoch: every query of one answer is evaluated at the same instant. */
  readonly now: () => number;
}

interface Acc {
  success: number;
  failure: number;
  secured: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  tcp?: { openConnections: number; readBytes: number; writeBytes: number };
}

export async function statSummary(ctx: StatContext, req: StatRequest): Promise<StatRow[]> {
  const types = req.type === 'all' ? ALL_TYPES : [req.type];
  const tables = await Promise.all(types.map((type) => statOne(ctx, req, type)));
  return tables.flat();
}

async function statOne(ctx: StatContext, req: StatRequest, type: ResourceType): Promise<StatRow[]> {
  const target: Target = { type, name: req.type === 'all' ? undefined : req.name, namespace: req.namespace };
  const q = statQueries({ target, to: req.to, from: req.from, window: req.window.text, adminPort: ctx.adminPort });
  const time = ctx.now();
  const [objects, responses, p50, p95, p99, conns, read, write] = await Promise.all([
    type === 'authority' ? undefined : ctx.workloads.list({ type, name: target.name, namespace: target.namespace, labelSelector: req.labelSelector }),
    ctx.prometheus.query(q.responses, time),
    ctx.prometheus.query(q.latency.p50, time),
    ctx.prometheus.query(q.latency.p95, time),
    ctx.prometheus.query(q.latency.p99, time),
    ctx.prometheus.query(q.tcpConnections, time),
    ctx.prometheus.query(q.tcpReadBytes, time),
    ctx.prometheus.query(q.tcpWriteBytes, time),
  ]);

  const acc = new Map<string, Acc>();
  // Rows are named by (namespace label, name label); a namespace row by its namespace label twice.
  const keyOf = (s: Sample) => rowKey(s.labels[q.groupBy[0] as string] ?? '', s.labels[q.groupBy[q.groupBy.length - 1] as string] ?? '');
  const get = (s: Sample) => {
    const k = keyOf(s);
    let a = acc.get(k);
    if (!a) acc.set(k, (a = { success: 0, failure: 0, secured: 0, p50: null, p95: null, p99: null }));
    return a;
  };
  for (const s of responses) {
    const a = get(s);
    const n = finite(s.value);
    if (s.labels['classification'] === 'success') a.success += n;
    else if (s.labels['classification'] === 'failure') a.failure += n;
    if (s.labels['tls'] === 'true') a.secured += n;
  }
  for (const [list, field] of [[p50, 'p50'], [p95, 'p95'], [p99, 'p99']] as const) {
    for (const s of list) if (Number.isFinite(s.value)) get(s)[field] = s.value;
  }
  for (const [list, field] of [[conns, 'openConnections'], [read, 'readBytes'], [write, 'writeBytes']] as const) {
    for (const s of list) {
      const a = get(s);
      a.tcp ??= { openConnections: 0, readBytes: 0, writeBytes: 0 };
      a.tcp[field] = Math.round(finite(s.value));
    }
  }

  const toRow = (namespace: string, name: string, pods?: StatRow['pods']): StatRow => {
    const a = acc.get(rowKey(namespace, name));
    return { resource: { type, namespace, name }, ...(pods ? { pods } : {}), stats: a ? basic(a, req.window.seconds) : null, tcp: a?.tcp ?? null };
  };

  let rows: StatRow[];
  if (objects && !req.to && !req.from) {
    rows = objects.map((o) => toRow(o.namespace, o.name, o.pods));
  } else {
    // Authorities exist only in the metrics; with --to/--from only the objects that had such traffic are rows.
    const known = objects ? new Map(objects.map((o) => [rowKey(o.namespace, o.name), o])) : undefined;
    rows = [...acc.keys()]
      .map(splitKey)
      .filter(([ns, name]) => !known || known.has(rowKey(ns, name)))
      .map(([ns, name]) => toRow(ns, name, known?.get(rowKey(ns, name))?.pods));
  }
  return rows.sort((x, y) => x.resource.namespace.localeCompare(y.resource.namespace) || x.resource.name.localeCompare(y.resource.name));
}

/** Linkerd counts whole responses: increase() over a window extrapolates, so it rounds the counts. */
function basic(a: Acc, windowSeconds: number): BasicStats | null {
  const success = Math.round(a.success);
  const failure = Math.round(a.failure);
  const total = success + failure;
  if (total === 0 && a.p50 === null && a.p95 === null && a.p99 === null) return null;
  return {
    successCount: success,
    failureCount: failure,
    successRate: total > 0 ? success / total : null,
    rps: total / windowSeconds,
    securedRate: total > 0 ? Math.min(1, Math.round(a.secured) / total) : null,
    latencyMs: { p50: a.p50, p95: a.p95, p99: a.p99 },
  };
}

const finite = (v: number) => (Number.isFinite(v) ? v : 0);
const rowKey = (namespace: string, name: string) => `${namespace}\u0000${name}`;
const splitKey = (k: string) => k.split('\u0000') as [string, string];
