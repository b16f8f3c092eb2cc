// The bench's --tap and --trace figures: each variant path against the path it varies, from the same run's
// interleaved windows (medians over runs), as JSON sections and summary-line text.

/** One path's windows over the runs: its pair's CPU µs per request, p99 in ms, and (tap variants) events read. */
export interface PathWindows {
  readonly cpu: { readonly outbound: readonly number[]; readonly inbound: readonly number[] };
  readonly p99Ms: readonly number[];
  readonly requests: readonly number[];
  readonly tapEvents?: readonly { readonly outbound: number; readonly inbound: number; readonly clientCpuMs: number; readonly endedEarly: boolean }[];
}

const median = (xs: readonly number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function figures(w: PathWindows) {
  return { cpuMicrosPerRequest: { outbound: round(median(w.cpu.outbound)), inbound: round(median(w.cpu.inbound)) }, p99Ms: round(median(w.p99Ms), 2) };
}

/** A tap variant against its base: CPU and p99 with and without the tap, with over without. */
export function tapComparison(without: PathWindows, withTap: PathWindows) {
  const a = figures(without);
  const b = figures(withTap);
  const events = withTap.tapEvents ?? [];
  const perRequest = (side: 'outbound' | 'inbound') => round(median(events.map((e, i) => e[side] / Math.max(1, withTap.requests[i] ?? 1))), 2);
  return {
    without: a,
    with: b,
    ratio: {
      cpuOutbound: round(b.cpuMicrosPerRequest.outbound / a.cpuMicrosPerRequest.outbound, 3),
      cpuInbound: round(b.cpuMicrosPerRequest.inbound / a.cpuMicrosPerRequest.inbound, 3),
      p99: round(b.p99Ms / a.p99Ms, 3),
    },
    // Events the tap clients read per request (3 when every request's init, response init and end arrived).
    tapEventsPerRequest: { outbound: perRequest('outbound'), inbound: perRequest('inbound') },
    // What the two tap clients (reading without decoding) cost the same cores, per request.
    tapClientsCpuMicrosPerRequest: round(median(events.map((e, i) => (1000 * e.clientCpuMs) / Math.max(1, withTap.requests[i] ?? 1)))),
    tapsEndedEarly: events.filter((e) => e.endedEarly).length,
  };
}

/** Tracing off (the meshed pair), configured with untraced traffic, and every request sampled (the trace pair). */
export function traceComparison(off: PathWindows, configured: PathWindows, sampled: PathWindows) {
  const o = figures(off);
  const c = figures(configured);
  const s = figures(sampled);
  return {
    off: o,
    configuredUntraced: c,
    sampled: s,
    // Sampled minus untraced on the same two proxies: what making and exporting a request's span costs each.
    extraCpuMicrosPerSampledRequest: {
      outbound: round(s.cpuMicrosPerRequest.outbound - c.cpuMicrosPerRequest.outbound),
      inbound: round(s.cpuMicrosPerRequest.inbound - c.cpuMicrosPerRequest.inbound),
    },
    configuredOverOff: { cpuOutbound: round(c.cpuMicrosPerRequest.outbound / o.cpuMicrosPerRequest.outbound, 3), cpuInbound: round(c.cpuMicrosPerRequest.inbound / o.cpuMicrosPerRequest.inbound, 3) },
  };
}

export function tapText(path: string, t: ReturnType<typeof tapComparison>): string {
  return (
    `${path} tap: CPU ${t.without.cpuMicrosPerRequest.outbound}/${t.without.cpuMicrosPerRequest.inbound} -> ${t.with.cpuMicrosPerRequest.outbound}/${t.with.cpuMicrosPerRequest.inbound} us/req ` +
    `(x${t.ratio.cpuOutbound}/x${t.ratio.cpuInbound}), p99 ${t.without.p99Ms} -> ${t.with.p99Ms} ms (x${t.ratio.p99}), ${t.tapEventsPerRequest.outbound}/${t.tapEventsPerRequest.inbound} events/req, ` +
    `tap clients ${t.tapClientsCpuMicrosPerRequest} us/req`
  );
}

export function traceText(t: ReturnType<typeof traceComparison>, spans: string): string {
  const f = (x: ReturnType<typeof figures>) => `${x.cpuMicrosPerRequest.outbound}/${x.cpuMicrosPerRequest.inbound} us/req p99 ${x.p99Ms} ms`;
  return (
    `trace: off ${f(t.off)}; configured ${f(t.configuredUntraced)}; sampled ${f(t.sampled)}; ` +
    `extra per sampled request ${t.extraCpuMicrosPerSampledRequest.outbound}/${t.extraCpuMicrosPerSampledRequest.inbound} us; ${spans}`
  );
}
