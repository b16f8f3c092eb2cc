// FAKE: scrape targets that serve what a meshed proxy's /metrics serves (Linkerd's metric names, labels and latency
// buckets), with counts that grow at fixed rates. Named as a fake because real proxies carrying real traffic need
// pods with network namespaces, iptables and the control plane, which only the node cluster gives (one per machine,
// run by tools/e2e: its dashboard case drives this same page against the demo's real proxies). Here everything
// after the scrape is real: Prometheus, the metrics API, the dashboard server and Chromium.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/** Linkerd's response_latency_ms buckets. */
const BUCKETS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];

export interface Workload {
  readonly namespace: string;
  readonly deployment: string;
  readonly pod: string;
  readonly identity: string;
}

/** Requests per second from one workload to another, and the share of them that fail. */
export interface Flow {
  readonly from: Workload;
  readonly to: Workload;
  readonly rps: number;
  readonly failureRatio: number;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

/** Latency spread of every flow: 60 % under 5 ms, 30 % under 20 ms, the rest under 100 ms. */
function bucketCounts(total: number): number[] {
  return BUCKETS.map((le) => Math.floor(total * (le >= 100 ? 1 : le >= 20 ? 0.9 : le >= 5 ? 0.6 : 0)));
}

/** The exposition text of one workload's proxy `seconds` after the start. */
export function exposition(me: Workload, flows: readonly Flow[], seconds: number): string {
  const out: string[] = [];
  const family = (name: string, type: string) => out.push(`# HELP ${name} ${name}`, `# TYPE ${name} ${type}`);
  const sides: { dir: 'inbound' | 'outbound'; f: Flow }[] = [
    ...flows.filter((f) => f.to === me).map((f) => ({ dir: 'inbound' as const, f })),
    ...flows.filter((f) => f.from === me).map((f) => ({ dir: 'outbound' as const, f })),
  ];
  const base = (dir: 'inbound' | 'outbound', f: Flow): Record<string, string> =>
    dir === 'inbound'
      ? { direction: 'inbound', target_addr: '10.244.0.9:8080', target_port: '8080', tls: 'true', client_id: f.from.identity, authority: `${f.to.deployment}-svc.${f.to.namespace}.svc.cluster.local:8080` }
      : {
          direction: 'outbound',
          target_addr: '10.244.0.9:8080',
          target_port: '8080',
          tls: 'true',
          server_id: f.to.identity,
          authority: `${f.to.deployment}-svc.${f.to.namespace}.svc.cluster.local:8080`,
          dst_namespace: f.to.namespace,
          dst_deployment: f.to.deployment,
          dst_pod: f.to.pod,
          dst_service: `${f.to.deployment}-svc`,
        };
  family('request_total', 'counter');
  for (const { dir, f } of sides) out.push(`request_total${labels(base(dir, f))} ${Math.floor(f.rps * seconds)}`);
  family('response_total', 'counter');
  for (const { dir, f } of sides) {
    const all = Math.floor(f.rps * seconds);
    const failed = Math.floor(all * f.failureRatio);
    out.push(`response_total${labels({ ...base(dir, f), status_code: '200', classification: 'success' })} ${all - failed}`);
    out.push(`response_total${labels({ ...base(dir, f), status_code: '500', classification: 'failure' })} ${failed}`);
  }
  family('response_latency_ms', 'histogram');
  for (const { dir, f } of sides) {
    const all = Math.floor(f.rps * seconds);
    const counts = bucketCounts(all);
    BUCKETS.forEach((le, i) => out.push(`response_latency_ms_bucket${labels({ ...base(dir, f), status_code: '200', le: String(le) })} ${counts[i]}`));
    out.push(`response_latency_ms_bucket${labels({ ...base(dir, f), status_code: '200', le: '+Inf' })} ${all}`);
    out.push(`response_latency_ms_count${labels({ ...base(dir, f), status_code: '200' })} ${all}`);
    out.push(`response_latency_ms_sum${labels({ ...base(dir, f), status_code: '200' })} ${all * 6}`);
  }
  // The server's ServiceProfile route series (linkerd2-proxy's inbound route_*): every call is `POST /vote`, its
  // failures included, so the route's success rate is the flow's.
  const inboundFlows = sides.filter((x) => x.dir === 'inbound').map((x) => x.f);
  const route = (f: Flow) => ({ direction: 'inbound', dst: `${f.to.deployment}-svc.${f.to.namespace}.svc.cluster.local:8080`, rt_route: 'POST /vote' });
  family('route_response_total', 'counter');
  for (const f of inboundFlows) {
    const all = Math.floor(f.rps * seconds);
    const failed = Math.floor(all * f.failureRatio);
    out.push(`route_response_total${labels({ ...route(f), status_code: '200', classification: 'success' })} ${all - failed}`);
    out.push(`route_response_total${labels({ ...route(f), status_code: '500', classification: 'failure' })} ${failed}`);
  }
  family('route_response_latency_ms', 'histogram');
  for (const f of inboundFlows) {
    const all = Math.floor(f.rps * seconds);
    const counts = bucketCounts(all);
    BUCKETS.forEach((le, i) => out.push(`route_response_latency_ms_bucket${labels({ ...route(f), le: String(le) })} ${counts[i]}`));
    out.push(`route_response_latency_ms_bucket${labels({ ...route(f), le: '+Inf' })} ${all}`);
  }
  const tcp = (dir: 'inbound' | 'outbound', f: Flow) => {
    const { authority: _a, ...l } = base(dir, f);
    return { ...l, peer: dir === 'inbound' ? 'src' : 'dst' };
  };
  family('tcp_open_connections', 'gauge');
  for (const { dir, f } of sides) out.push(`tcp_open_connections${labels(tcp(dir, f))} 1`);
  family('tcp_read_bytes_total', 'counter');
  for (const { dir, f } of sides) out.push(`tcp_read_bytes_total${labels(tcp(dir, f))} ${Math.floor(f.rps * seconds * 180)}`);
  family('tcp_write_bytes_total', 'counter');
  for (const { dir, f } of sides) out.push(`tcp_write_bytes_total${labels(tcp(dir, f))} ${Math.floor(f.rps * seconds * 320)}`);
  return `${out.join('\n')}\n`;
}

export interface FakeTargets {
  /** host:port of each workload's target, in the order given. */
  readonly addrs: readonly string[];
  close(): Promise<void>;
}

/** One /metrics server per workload on loopback, counting from now. */
export async function startFakeTargets(workloads: readonly Workload[], flows: readonly Flow[], now: () => number = Date.now): Promise<FakeTargets> {
  const start = now();
  const servers: Server[] = [];
  for (const w of workloads) {
    const s = createServer((req, res) => {
      if (req.url !== '/metrics') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition(w, flows, (now() - start) / 1000));
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
