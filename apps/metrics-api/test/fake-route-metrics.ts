// FAKE: scrape targets serving the per-route series a meshed proxy's /metrics serves (Linkerd's names and labels:
// ServiceProfile routes as route_* with rt_route, policy routes as outbound_{http,grpc}_route_* and the inbound
// endpoint series' route_* labels), each counter growing at a fixed rate. A fake because real proxies carrying real
// traffic need pods with network namespaces and the control plane, which only the node cluster gives (tools/e2e).
// Everything after the scrape is real: Prometheus, the metrics API, the kube-apiserver.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** A counter growing at `perSecond`, or a histogram whose observations all fall at `valueOf` (its unit). */
export interface FakeSeries {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly perSecond: number;
  /** For histograms: the buckets' upper bounds and where every observation falls. */
  readonly histogram?: { readonly buckets: readonly number[]; readonly value: number };
}

/** Linkerd's response_latency_ms buckets, and the policy families' seconds buckets. */
export const MS_BUCKETS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000];
export const SECONDS_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const text = (l: Readonly<Record<string, string>>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

export function exposition(series: readonly FakeSeries[], seconds: number): string {
  const out: string[] = [];
  for (const s of series) {
    const n = Math.floor(s.perSecond * seconds);
    if (!s.histogram) {
      out.push(`${s.name}${text(s.labels)} ${n}`);
      continue;
    }
    const { buckets, value } = s.histogram;
    for (const le of buckets) out.push(`${s.name}_bucket${text({ ...s.labels, le: String(le) })} ${value <= le ? n : 0}`);
    out.push(`${s.name}_bucket${text({ ...s.labels, le: '+Inf' })} ${n}`);
    out.push(`${s.name}_count${text(s.labels)} ${n}`);
    out.push(`${s.name}_sum${text(s.labels)} ${n * value}`);
  }
  return `${out.join('\n')}\n`;
}

export interface FakeTargets {
  readonly addrs: readonly string[];
  close(): Promise<void>;
}

/** One /metrics server per proxy on loopback, counting from now. */
export async function startFakeTargets(proxies: readonly (readonly FakeSeries[])[]): Promise<FakeTargets> {
  const start = Date.now();
  const servers: Server[] = [];
  for (const series of proxies) {
    const s = createServer((req, res) => {
      if (req.url !== '/metrics') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition(series, (Date.now() - start) / 1000));
    });
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    servers.push(s);
  }
  return {
    addrs: servers.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`),
    async close() {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
