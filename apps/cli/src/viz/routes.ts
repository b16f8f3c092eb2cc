// `trellis viz routes`: Linkerd's per-route table from the metrics API's /api/v1/routes answer. ROUTE and SERVICE
// to the left, the numbers to the right, `-` where the window saw no request; `-o wide` (with --to) splits success
// and RPS into EFFECTIVE (what the application sent) and ACTUAL (what the proxy sent, retries included).

/** A row of the metrics API's /api/v1/routes answer (apps/metrics-api/README.md). */
export interface ApiRouteRow {
  readonly route: string;
  readonly kind: string;
  readonly parent: { readonly kind: 'Service' | 'Server'; readonly namespace: string; readonly name: string };
  readonly authority: string;
  readonly stats: {
    readonly successRate: number | null;
    readonly rps: number;
    readonly latencyMs: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null };
  } | null;
  readonly actual: { readonly successRate: number | null; readonly rps: number } | null;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v < 10 ? Math.max(1, Math.round(v)) : Math.round(v)}ms`);

/** What the SERVICE column says: the Service, or the Server that admitted an inbound policy route's requests. */
const parentOf = (r: ApiRouteRow) => (r.parent.kind === 'Server' ? `server/${r.parent.name}` : r.parent.name);

/** The numbers of a row that saw requests; a row that saw none shows dashes throughout. */
function traffic(r: ApiRouteRow) {
  const s = r.stats && r.stats.successRate !== null ? r.stats : undefined;
  return {
    success: pct(s?.successRate),
    rps: s ? `${s.rps.toFixed(1)}rps` : '-',
    actualSuccess: pct(r.actual?.successRate),
    actualRps: r.actual && r.actual.successRate !== null ? `${r.actual.rps.toFixed(1)}rps` : '-',
    p50: s ? ms(s.latencyMs.p50) : '-',
    p95: s ? ms(s.latencyMs.p95) : '-',
    p99: s ? ms(s.latencyMs.p99) : '-',
  };
}

export function renderRoutes(rows: readonly ApiRouteRow[], wide: boolean): string {
  const header = ['ROUTE', 'SERVICE', ...(wide ? ['EFFECTIVE_SUCCESS', 'EFFECTIVE_RPS', 'ACTUAL_SUCCESS', 'ACTUAL_RPS'] : ['SUCCESS', 'RPS']), 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99'];
  const cells = rows.map((r) => {
    const t = traffic(r);
    return [r.route, parentOf(r), t.success, t.rps, ...(wide ? [t.actualSuccess, t.actualRps] : []), t.p50, t.p95, t.p99];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join('   ');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}

/** Linkerd's JSON: the rows under the resource's name, numbers absent where the window saw nothing. */
export function routesJson(resource: string, rows: readonly ApiRouteRow[], wide: boolean): string {
  const out = rows.map((r) => {
    const s = r.stats && r.stats.successRate !== null ? r.stats : undefined;
    const a = r.actual && r.actual.successRate !== null ? r.actual : undefined;
    return {
      route: r.route,
      service: parentOf(r),
      authority: r.authority,
      ...(wide
        ? { ...(s ? { effective_success: s.successRate, effective_rps: s.rps } : {}), ...(a ? { actual_success: a.successRate, actual_rps: a.rps } : {}) }
        : s ? { success: s.successRate, rps: s.rps } : {}),
      latency_ms_p50: s?.latencyMs.p50 ?? null,
      latency_ms_p95: s?.latencyMs.p95 ?? null,
      latency_ms_p99: s?.latencyMs.p99 ?? null,
    };
  });
  return `${JSON.stringify({ [resource]: out }, null, 2)}\n`;
}
