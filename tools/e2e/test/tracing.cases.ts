// Distributed tracing on the demo, for the journey to call once the demo is meshed (each function asserts what a
// user would see and returns what it printed):
//
//   const jaeger = await tracingCollectorCase(dir);                // Jaeger v2 on the host, OTLP on the node bridge
//   await tracingOnCase(cluster, jaeger);                          // namespace annotation, demo restarted, env set
//   await voteTraceCase(jaeger);                                   // one vote = one trace, four proxy spans nested
//   await jaeger.stop();
//
// The local node runs no upstream images, so the collector is the pinned Jaeger v2 (tools/bin/ensure jaeger) on
// the host: its OTLP gRPC receiver listens on the node bridge's address, which pods reach (the proxies' own
// connections skip the iptables redirect), and its query API on loopback for the test. Tracing is turned on the
// way a user of Linkerd's tracing extension does: `config.linkerd.io/trace-collector` on the namespace, then a
// restart, so the injector renders LINKERD2_PROXY_TRACE_* into each proxy. vote-bot starts a sampled W3C trace per
// vote and web passes the context on to voting (tools/demo/src/trace.ts), so the proxies' spans join one trace.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { toolPath } from '@trellis/cluster/src/tools.ts';
import { GATEWAY_IP } from '@trellis/cluster/src/node-network.ts';
import { DEMO_DEPLOYMENTS, DEMO_NS, demoMeshed, PROXY_CONTAINER } from '../src/journey.ts';
import { kubectl, pods, type Cluster } from '../src/kube.ts';

const MINUTE = 60_000;
const say = (line: string) => console.log(`[e2e] ${line}`);

async function freePortOn(host: string): Promise<number> {
  const s = createServer().listen(0, host);
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

export interface JaegerRunning {
  /** host:port of the OTLP gRPC receiver, as pods reach it. */
  readonly otlp: string;
  readonly queryUrl: string;
  stop(): Promise<void>;
}

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; value: unknown }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

/** Jaeger v2 with in-memory storage: OTLP gRPC on the node bridge, the query API on loopback. */
export async function tracingCollectorCase(dir: string): Promise<JaegerRunning> {
  const [otlp, query, queryGrpc, health] = [await freePortOn(GATEWAY_IP), await freePortOn('127.0.0.1'), await freePortOn('127.0.0.1'), await freePortOn('127.0.0.1')];
  const data = join(dir, 'jaeger');
  await mkdir(data, { recursive: true });
  const config = join(data, 'config.yaml');
  await writeFile(
    config,
    [
      'service:',
      '  extensions: [jaeger_storage, jaeger_query, healthcheckv2]',
      '  pipelines:',
      '    traces: { receivers: [otlp], exporters: [jaeger_storage_exporter] }',
      '  telemetry: { metrics: { level: none }, logs: { level: warn } }',
      'extensions:',
      `  healthcheckv2: { use_v2: true, http: { endpoint: "127.0.0.1:${health}" } }`,
      `  jaeger_query: { storage: { traces: memstore }, http: { endpoint: "127.0.0.1:${query}" }, grpc: { endpoint: "127.0.0.1:${queryGrpc}" } }`,
      '  jaeger_storage: { backends: { memstore: { memory: { max_traces: 100000 } } } }',
      `receivers: { otlp: { protocols: { grpc: { endpoint: "${GATEWAY_IP}:${otlp}" } } } }`,
      'exporters: { jaeger_storage_exporter: { trace_storage: memstore } }',
      '',
    ].join('\n'),
  );
  let log = '';
  const child = spawn(await toolPath('jaeger'), ['--config', `file:${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
  const queryUrl = `http://127.0.0.1:${query}`;
  const deadline = Date.now() + MINUTE;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jaeger exited ${child.exitCode}:\n${log}`);
    if (await fetch(`${queryUrl}/api/services`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`jaeger not ready within a minute:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  say(`jaeger: OTLP gRPC on ${GATEWAY_IP}:${otlp}, query API on ${queryUrl}`);
  return {
    otlp: `${GATEWAY_IP}:${otlp}`,
    queryUrl,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * `kubectl annotate ns emojivoto config.linkerd.io/trace-collector=<collector>` and a restart of the demo: every
 * proxy comes back with the collector address, the podinfo labels file and the trace service name.
 */
export async function tracingOnCase(cluster: Cluster, jaeger: JaegerRunning): Promise<string> {
  const out = await kubectl(cluster, 'annotate', '--overwrite', 'ns', DEMO_NS, `config.linkerd.io/trace-collector=${jaeger.otlp}`);
  say(out.trim());
  await kubectl(cluster, '-n', DEMO_NS, 'rollout', 'restart', 'deploy');
  await demoMeshed(cluster, 5 * MINUTE);
  for (const p of await pods(cluster, DEMO_NS)) {
    // The proxy is a native sidecar (an init container) or a container, as the injector's values say.
    const proxy = [...p.spec.containers, ...(p.spec.initContainers ?? [])].find((c) => c.name === PROXY_CONTAINER) as { env?: { name: string; value?: string }[] } | undefined;
    const env = Object.fromEntries((proxy?.env ?? []).map((e) => [e.name, e.value]));
    expect(env['LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR'], `${p.metadata.name}'s proxy`).toBe(jaeger.otlp);
    expect(env['LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH'], `${p.metadata.name}'s proxy`).toBe('/var/run/linkerd/podinfo/labels');
  }
  say(`tracing on for ${DEMO_DEPLOYMENTS.join(', ')}`);
  return out;
}

const tag = (tags: { key: string; value: unknown }[], key: string) => tags.find((t) => t.key === key)?.value;
const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

/** The span of one proxy hop, found by the pod's `app` label (a resource attribute from the labels file) and kind. */
function hop(t: JaegerTrace, app: string, kind: 'client' | 'server', op?: RegExp): JaegerSpan | undefined {
  return t.spans.find((s) => tag(t.processes[s.processID]?.tags ?? [], 'app') === app && tag(s.tags, 'span.kind') === kind && (op === undefined || op.test(s.operationName)));
}

/**
 * vote-bot's votes, read back from Jaeger: a trace of /api/vote holds vote-bot's outbound span, web's inbound span
 * under it, web's outbound span to voting under that, and voting's inbound span under that, each inside its parent
 * in time. Prints the trace (span names, parents, durations) as Jaeger returns it.
 */
export async function voteTraceCase(jaeger: JaegerRunning): Promise<string> {
  const VOTE = /^\/trellis\.demo\.v1\.VotingService\/Vote$/;
  const found = await (async () => {
    const deadline = Date.now() + 2 * MINUTE;
    for (;;) {
      const res = await fetch(`${jaeger.queryUrl}/api/traces?${new URLSearchParams({ service: 'linkerd-proxy', operation: '/api/vote', lookback: '10m', limit: '50' })}`, { signal: AbortSignal.timeout(5000) });
      const traces = res.ok ? ((await res.json()) as { data: JaegerTrace[] }).data : [];
      for (const t of traces) {
        const bot = hop(t, 'vote-bot-svc', 'client', /^\/api\/vote$/);
        const webIn = hop(t, 'web-svc', 'server', /^\/api\/vote$/);
        const webOut = hop(t, 'web-svc', 'client', VOTE);
        const voting = hop(t, 'voting-svc', 'server', VOTE);
        if (bot && webIn && webOut && voting) return { t, bot, webIn, webOut, voting };
      }
      if (Date.now() > deadline) throw new Error(`no trace of /api/vote with all four proxy spans within 2 minutes (${traces.length} traces of /api/vote seen)`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const { t, bot, webIn, webOut, voting } = found;
  const app = (s: JaegerSpan) => String(tag(t.processes[s.processID]?.tags ?? [], 'app'));
  const dump = t.spans
    .slice()
    .sort((x, y) => x.startTime - y.startTime)
    .map((s) => `${app(s)} ${tag(s.tags, 'span.kind')} ${s.operationName} span=${s.spanID} parent=${parentOf(s) ?? '-'} ${(s.duration / 1000).toFixed(2)} ms status=${tag(s.tags, 'http.response.status_code') ?? '-'}`)
    .join('\n');
  console.log(`[e2e] trace ${t.traceID} from Jaeger:\n${dump}`);
  expect(parentOf(webIn)).toBe(bot.spanID);
  expect(parentOf(webOut)).toBe(webIn.spanID);
  expect(parentOf(voting)).toBe(webOut.spanID);
  for (const [child, parent] of [[webIn, bot], [webOut, webIn], [voting, webOut]] as const) {
    expect(child.startTime).toBeGreaterThanOrEqual(parent.startTime - 1000); // pods' clocks: one host, 1 ms of slack
    expect(child.startTime + child.duration).toBeLessThanOrEqual(parent.startTime + parent.duration + 1000);
  }
  expect(new Set([bot, webIn, webOut, voting].map((s) => s.traceID)).size).toBe(1);
  return dump;
}
