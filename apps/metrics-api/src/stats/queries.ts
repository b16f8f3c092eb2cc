// PromQL over the proxies' metrics, as Linkerd's viz computes its stats: response counts by classification over the
// window (increase), latency quantiles from the response_latency_ms histogram (irate, grouped by le), open TCP
// connections (a gauge) and TCP bytes. Inbound series are the server's view (no --from/--to); with a --to or --from
// resource the client's outbound series are read instead, whose dst_* labels name the server.
//
// The proxy's own admin port is left out: the kubelet's probes and Prometheus' scrapes of 4191 reach the proxy on the
// pod IP and linkerd2-proxy counts them as inbound requests, which would show every idle pod as serving traffic.
import { dstLabel, PROM_LABEL, type ResourceType } from './resources.ts';

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export const eq = (label: string, value: string): Matcher => ({ label, op: '=', value });

/** `{a="x",b!="y"}` with PromQL string escaping (a JSON string is a valid PromQL double-quoted string). */
export function selector(matchers: readonly Matcher[]): string {
  return `{${matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(',')}}`;
}

export interface Target {
  readonly type: ResourceType;
  readonly name?: string;
  /** Undefined: every namespace. */
  readonly namespace?: string;
}

export interface StatQuery {
  /** The resource rows are made of. */
  readonly target: Target;
  /** Only traffic from the target to this resource (the client's outbound series). */
  readonly to?: Target;
  /** Only traffic from this resource to the target (the clients' outbound series). */
  readonly from?: Target;
  /** A Prometheus duration: 30s, 1m, 1h. */
  readonly window: string;
  readonly adminPort: number;
}

export interface StatQueries {
  /** The labels each result series carries that name its row: [namespace label, name label] or [namespace label]. */
  readonly groupBy: readonly string[];
  readonly responses: string;
  readonly latency: { readonly p50: string; readonly p95: string; readonly p99: string };
  readonly tcpConnections: string;
  readonly tcpReadBytes: string;
  readonly tcpWriteBytes: string;
}

/** The series of a resource as the proxies in it report about themselves (their own pod, workload, namespace). */
export function sourceMatchers(t: Target): Matcher[] {
  const out: Matcher[] = [];
  if (t.type === 'namespace') {
    const ns = t.name ?? t.namespace;
    if (ns) out.push(eq('namespace', ns));
    return out;
  }
  if (t.name) out.push(eq(PROM_LABEL[t.type], t.name));
  if (t.namespace) out.push(eq('namespace', t.namespace));
  return out;
}

/** The outbound series of clients calling a resource, by the dst_* labels their proxy got from discovery. */
function dstMatchers(t: Target): Matcher[] {
  const out: Matcher[] = [];
  if (t.type === 'namespace') {
    const ns = t.name ?? t.namespace;
    if (ns) out.push(eq('dst_namespace', ns));
    return out;
  }
  if (t.name) out.push(eq(dstLabel(t.type), t.name));
  if (t.namespace) out.push(eq('dst_namespace', t.namespace));
  return out;
}

function groupOf(t: Target, side: 'src' | 'dst'): string[] {
  const nsLabel = side === 'src' ? 'namespace' : 'dst_namespace';
  if (t.type === 'namespace') return [nsLabel];
  return [nsLabel, side === 'src' ? PROM_LABEL[t.type] : dstLabel(t.type)];
}

/** Which series a stat reads, and which labels name its rows. */
function plan(q: StatQuery): { matchers: Matcher[]; groupBy: string[]; peer: 'src' | 'dst' } {
  const t = q.target;
  if (q.to) return { matchers: [...sourceMatchers(t), ...dstMatchers(q.to), eq('direction', 'outbound')], groupBy: groupOf(t, 'src'), peer: 'dst' };
  if (q.from) return { matchers: [...sourceMatchers(q.from), ...dstMatchers(t), eq('direction', 'outbound')], groupBy: groupOf(t, 'dst'), peer: 'dst' };
  if (t.type === 'service' || t.type === 'authority') {
    // Services and authorities have no proxy of their own: their traffic is what clients sent to them.
    const m = [...dstMatchers({ ...t, name: t.type === 'service' ? t.name : undefined }), eq('direction', 'outbound')];
    if (t.type === 'authority') {
      if (t.name) m.push(eq('authority', t.name));
      m.push({ label: 'authority', op: '!=', value: '' });
    }
    return { matchers: m, groupBy: groupOf(t, 'dst'), peer: 'dst' };
  }
  return {
    matchers: [...sourceMatchers(t), eq('direction', 'inbound'), { label: 'target_port', op: '!=', value: String(q.adminPort) }],
    groupBy: groupOf(t, 'src'),
    peer: 'src',
  };
}

export function statQueries(q: StatQuery): StatQueries {
  const { matchers, groupBy, peer } = plan(q);
  const sel = selector(matchers);
  const by = groupBy.join(', ');
  const w = q.window;
  const quantile = (p: string) => `histogram_quantile(${p}, sum(irate(response_latency_ms_bucket${sel}[${w}])) by (le, ${by}))`;
  const tcpSel = selector([...matchers, eq('peer', peer)]);
  return {
    groupBy,
    responses: `sum(increase(response_total${sel}[${w}])) by (${by}, classification, tls)`,
    latency: { p50: quantile('0.5'), p95: quantile('0.95'), p99: quantile('0.99') },
    tcpConnections: `sum(tcp_open_connections${tcpSel}) by (${by})`,
    tcpReadBytes: `sum(increase(tcp_read_bytes_total${tcpSel}[${w}])) by (${by})`,
    tcpWriteBytes: `sum(increase(tcp_write_bytes_total${tcpSel}[${w}])) by (${by})`,
  };
}

/**
 * Open connections between workloads of one type, from the clients' outbound series: each series names the client
 * (its own labels) and the server (dst_*), the server's identity as the client verified it (server_id) and, for
 * plaintext, why (no_tls_reason).
 */
export function edgesQuery(type: ResourceType): { query: string; src: string; dst: string } {
  const src = PROM_LABEL[type];
  const dst = dstLabel(type);
  const by = [...new Set([src, dst, 'pod', 'namespace', 'dst_namespace', 'server_id', 'tls', 'no_tls_reason'])].join(', ');
  const sel = selector([eq('direction', 'outbound'), { label: src, op: '!=', value: '' }, { label: dst, op: '!=', value: '' }]);
  return { query: `sum(tcp_open_connections${sel}) by (${by})`, src, dst };
}
