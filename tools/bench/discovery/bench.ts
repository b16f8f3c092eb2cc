// Discovery benchmark: the built destination (dist/apps/destination/main.js) as its own process against a
// local kube-apiserver; S services × E endpoints (pods + EndpointSlices), N open Get streams spread over
// them; EndpointSlices rewritten at R per second for T seconds; latency measured from the API write to the
// update arriving on every subscribed stream, split into stages by timestamps taken in separate processes:
// the writer (this process: write -> API acknowledgement), a watch probe (write -> the API server's watch
// event, decoded through libs/k8s), and the stream clients (-> the Add on each stream). CPU of every
// process is read from /proc over the churn. Then the index grows to 10,000 endpoints and RSS is read.
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiextensionsV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, loadYaml, type V1CustomResourceDefinition, type V1EndpointSlice } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/k8s';
import { openStreams } from './clients.ts';
import { wallMs, type ChildMessage } from './clock.ts';
import { cpuSeconds, rssMb } from '../lib/proc.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const bundle = join(root, 'dist', 'apps', 'destination', 'main.js');
const resultsDir = join(root, 'tools', 'bench', 'results');

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    services: { type: 'string', default: '500' },
    endpoints: { type: 'string', default: '10' },
    streams: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    'memory-endpoints': { type: 'string', default: '10000' },
    // The destination image's NODE_OPTIONS (apps/destination/Dockerfile); the process sizes its old generation itself (src/heap.ts).
    'node-flags': { type: 'string', default: '--max-semi-space-size=2' },
    kubeconfig: { type: 'string', default: process.env['TRELLIS_KUBECONFIG'] ?? '' },
    // A cluster to use and keep (started there when missing; objects already there are reused), so that
    // repeated runs skip the setup.
    'cluster-dir': { type: 'string', default: '' },
    // 'process': the stream clients in their own process (default); 'inline': in this process, beside the writer.
    clients: { type: 'string', default: 'process' },
    // false: the writer gets a new connection (and TLS handshake) per request, the client library's default.
    'writer-pool': { type: 'boolean', default: true },
    'cpu-prof': { type: 'string', default: '' },
    out: { type: 'string', default: 'discovery' },
    // A file for the destination's stdout (e.g. with --node-flags '--trace-gc').
    'destination-stdout': { type: 'string', default: '' },
  },
});
const SERVICES = Number(args.services);
const ENDPOINTS = Number(args.endpoints);
const STREAMS = Number(args.streams);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const MEMORY_ENDPOINTS = Number(args['memory-endpoints']);
const NS = 'bench-discovery';
const CONNECTIONS = 10;
if (args.clients !== 'process' && args.clients !== 'inline') throw new Error(`--clients must be process or inline, got ${JSON.stringify(args.clients)}`);
const cpuProfDir = args['cpu-prof'] ? resolve(args['cpu-prof']) : '';
const profFlags = (name: string) => (cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);

const node = process.execPath;
const cluster = (cmd: string[], dir: string) => execFileSync(node, [join(root, 'tools', 'cluster', 'src', 'cli.ts'), ...cmd, '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function stats(values: readonly number[]): { samples: number; p50: number; p90: number; p99: number; p999: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (n: number) => Math.round(n * 10) / 10;
  return { samples: sorted.length, p50: r(percentile(sorted, 50)), p90: r(percentile(sorted, 90)), p99: r(percentile(sorted, 99)), p999: r(percentile(sorted, 99.9)), max: r(sorted[sorted.length - 1] ?? NaN) };
}

/** Waits for a child's message of the given type (rejects if the child exits first). */
function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolveMsg, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} from child ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`child ${child.pid} exited (${code}) before ${type}`));
    const onMessage = (m: ChildMessage) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolveMsg(m as Extract<ChildMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Cumulative bucket counts of the destination's Get update-latency histogram (le in seconds -> count). */
async function updateLatencyBuckets(adminPort: number): Promise<Map<number, number>> {
  const text = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text());
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('destination_update_latency_seconds_bucket{') || !line.includes('api="destination.Get"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le !== undefined) out.set(le === '+Inf' ? Infinity : Number(le), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** Upper bounds (ms) of the buckets holding p50/p90/p99 of the observations made between two scrapes. */
function bucketQuantiles(before: Map<number, number>, after: Map<number, number>): { samples: number; p50AtMostMs: number; p90AtMostMs: number; p99AtMostMs: number } {
  const les = [...after.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = cum[cum.length - 1] ?? 0;
  const q = (p: number) => (les[cum.findIndex((c) => c >= p * total)] ?? NaN) * 1000;
  return { samples: total, p50AtMostMs: q(0.5), p90AtMostMs: q(0.9), p99AtMostMs: q(0.99) };
}

/** The etcd and kube-apiserver pids of a cluster started by tools/cluster (for CPU accounting). */
function clusterPids(dir: string | undefined): Record<string, number> {
  if (!dir || !existsSync(join(dir, 'state.json'))) return {};
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes?: { name: string; pid: number }[] };
  return Object.fromEntries((state.processes ?? []).filter((p) => p.name === 'etcd' || p.name === 'kube-apiserver').map((p) => [p.name, p.pid]));
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

// Endpoint addresses: service s, endpoint e -> 10.(100 + s / 250).(s % 250).(e + 1); rewrites use 10.200+.
const ipOf = (s: number, e: number) => `10.${100 + Math.floor(s / 250)}.${s % 250}.${e + 1}`;
let rewriteCounter = 0;
/** Continues after the rewrites already in a reused cluster, so that every write brings a new address. */
const skipUsedRewrites = (addresses: readonly string[]) => {
  for (const ip of addresses) {
    const [, a, b, c] = ip.split('.').map(Number) as [number, number, number, number];
    if (a >= 200) rewriteCounter = Math.max(rewriteCounter, (a - 200) * 65025 + b * 255 + c);
  }
};
const nextRewriteIp = () => {
  const n = rewriteCounter++;
  return `10.${200 + Math.floor(n / 65025)}.${Math.floor(n / 255) % 255}.${(n % 255) + 1}`;
};

function sliceBody(s: number, ips: string[]): V1EndpointSlice {
  return {
    metadata: { name: `svc-${s}-a`, labels: { 'kubernetes.io/service-name': `svc-${s}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip, e) => ({ addresses: [ip], conditions: { ready: true }, zone: 'zone-a', targetRef: { kind: 'Pod', name: `svc-${s}-${e}` } })),
  };
}

/** Creates services [from, to) with their pods and EndpointSlices; those that already exist are kept. */
async function createWorld(kc: KubeConfig, from: number, to: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const existing = new Set((await discovery.listNamespacedEndpointSlice({ namespace: NS })).items.map((s) => s.metadata?.name));
  const services = Array.from({ length: to - from }, (_, i) => from + i).filter((s) => !existing.has(`svc-${s}-a`));
  const exists = (e: { code?: number }) => {
    if (e.code !== 409) throw e;
  };
  const pods = services.flatMap((s) => Array.from({ length: ENDPOINTS }, (_, e) => [s, e] as const));
  await pool(pods, 32, async ([s, e]) => {
    const name = `svc-${s}-${e}`;
    const pod = await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name, labels: { app: `svc-${s}`, 'linkerd.io/control-plane-ns': 'trellis', 'pod-template-hash': 'h' } },
        spec: {
          serviceAccountName: 'default',
          automountServiceAccountToken: false,
          containers: [
            { name: 'app', image: 'app', ports: [{ name: 'http', containerPort: 8080 }] },
            { name: 'linkerd-proxy', image: 'proxy', env: [{ name: 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR', value: '0.0.0.0:4143' }] },
          ],
        },
      },
    }).catch(async (err: { code?: number }) => {
      exists(err);
      return core.readNamespacedPod({ name, namespace: NS });
    });
    pod.status = { phase: 'Running', podIP: ipOf(s, e), podIPs: [{ ip: ipOf(s, e) }] };
    await core.replaceNamespacedPodStatus({ name, namespace: NS, body: pod });
  });
  await pool(services, 16, async (s) => {
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: `svc-${s}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } } }).catch(exists);
    await discovery.createNamespacedEndpointSlice({ namespace: NS, body: sliceBody(s, Array.from({ length: ENDPOINTS }, (_, e) => ipOf(s, e))) });
  });
}

/** The current addresses of each service's slice (a reused cluster keeps those of earlier runs). */
async function currentAddresses(kc: KubeConfig, services: number): Promise<string[][]> {
  const slices = (await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: NS })).items;
  const byName = new Map(slices.map((s) => [s.metadata?.name, s]));
  return Array.from({ length: services }, (_, s) => (byName.get(`svc-${s}-a`)?.endpoints ?? []).map((e) => e.addresses[0] as string));
}

/** CPU seconds of each named process, to diff over the churn. */
const cpuOf = (pids: Record<string, number | undefined>) => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, pid ? cpuSeconds(pid) : 0]));

async function main(): Promise<void> {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run nx run @trellis/destination:build first`);
  let clusterDir: string | undefined;
  let ownCluster = false;
  let kubeconfig = args.kubeconfig;
  let dst: ChildProcess | undefined;
  const children: ChildProcess[] = [];
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  try {
    if (!kubeconfig) {
      if (args['cluster-dir']) {
        clusterDir = resolve(args['cluster-dir']);
        if (!existsSync(join(clusterDir, 'kubeconfig'))) {
          process.stderr.write(`discovery: starting a local API server in ${clusterDir} (kept)\n`);
          cluster(['up', '--controllers=false'], clusterDir);
        }
      } else {
        clusterDir = mkdtempSync(join(tmpdir(), 'trellis-bench-discovery-'));
        ownCluster = true;
        process.stderr.write(`discovery: starting a local API server in ${clusterDir}\n`);
        cluster(['up', '--controllers=false'], clusterDir);
      }
      kubeconfig = join(clusterDir, 'kubeconfig');
    }
    const kc = loadKubeConfig({ kubeconfig });
    const core = kc.makeApiClient(CoreV1Api);
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    for (const f of ['helm/trellis-crds/templates/serviceprofile.yaml', 'helm/trellis-crds/templates/policy/server.yaml']) {
      await ext.createCustomResourceDefinition({ body: loadYaml<V1CustomResourceDefinition>(readFileSync(join(root, f), 'utf8')) }).catch((e: { code?: number }) => {
        if (e.code !== 409) throw e;
      });
    }
    await core.createNamespace({ body: { metadata: { name: NS } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
    await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'default' } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });

    let t = Date.now();
    await createWorld(kc, 0, SERVICES);
    const ips = await currentAddresses(kc, SERVICES);
    skipUsedRewrites(ips.flat());
    const setupSeconds = (Date.now() - t) / 1000;
    process.stderr.write(`discovery: ${SERVICES} services, ${SERVICES * ENDPOINTS} pods and endpoints ready in ${setupSeconds.toFixed(1)} s\n`);

    const [port, adminPort] = await Promise.all([freePort(), freePort()]);
    const nodeFlags = args['node-flags'].split(' ').filter(Boolean);
    dst = spawn(node, [...nodeFlags, ...profFlags('destination'), bundle, '--kubeconfig', kubeconfig, '--addr', `127.0.0.1:${port}`, '--policy-addr', '127.0.0.1:0', '--metrics-addr', `127.0.0.1:${adminPort}`, '--log-level', 'warn'], {
      stdio: ['ignore', args['destination-stdout'] ? openSync(args['destination-stdout'], 'w') : 'ignore', 'inherit'],
    });
    const pid = dst.pid as number;
    t = Date.now();
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() - t > 60_000) throw new Error('destination not ready within 60 s');
      await sleep(100);
    }
    const readySeconds = (Date.now() - t) / 1000;
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMb(pid)), 1000);

    // The watch probe and the stream clients.
    const here = import.meta.dirname;
    const probe = fork(join(here, 'probe.ts'), ['--kubeconfig', kubeconfig, '--namespace', NS, '--port', '8080'], { execArgv: profFlags('probe'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(probe);
    const subscribers = new Array<number>(SERVICES).fill(0);
    for (let i = 0; i < STREAMS; i++) subscribers[i % SERVICES] = (subscribers[i % SERVICES] ?? 0) + 1;
    const streamOpts = { port, services: SERVICES, streams: STREAMS, namespace: NS, connections: CONNECTIONS };
    t = Date.now();
    let clients: ChildProcess | undefined;
    let inline: ReturnType<typeof openStreams> | undefined;
    if (args.clients === 'process') {
      clients = fork(join(here, 'clients.ts'), Object.entries(streamOpts).flatMap(([k, v]) => [`--${k}`, String(v)]), { execArgv: profFlags('clients'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(clients);
      await nextMessage(clients, 'ready', 60_000);
    } else {
      inline = openStreams(streamOpts);
      await Promise.race([inline.ready, sleep(60_000).then(() => Promise.reject(new Error('streams did not all get their first update within 60 s')))]);
    }
    const subscribeSeconds = (Date.now() - t) / 1000;
    await nextMessage(probe, 'ready', 60_000);
    process.stderr.write(`discovery: ${STREAMS} streams subscribed in ${subscribeSeconds.toFixed(1)} s (clients ${args.clients}); patching ${RATE}/s for ${SECONDS} s\n`);

    // Churn: each write replaces one endpoint of one service with a new address. The writer's client is the
    // pooled one from libs/k8s unless --no-writer-pool asks for the library's connection per request.
    let writerKc: KubeConfig = kc;
    if (!args['writer-pool']) {
      writerKc = new KubeConfig();
      writerKc.loadFromFile(kubeconfig);
    }
    const discovery = writerKc.makeApiClient(DiscoveryV1Api);
    const total = RATE * SECONDS;
    interface Write {
      readonly t0: number;
      ack: number | undefined;
      readonly subscribers: number;
    }
    const written = new Map<string, Write>();
    let writes = 0;
    let writeErrors = 0;
    const errorSamples = new Set<string>();
    const pids = { destination: pid, bench: process.pid, clients: clients?.pid, probe: probe.pid, ...clusterPids(clusterDir) };
    const cpu0 = cpuOf(pids);
    const buckets0 = await updateLatencyBuckets(adminPort);
    const start = performance.now();
    const inflight: Promise<unknown>[] = [];
    for (let n = 0; n < total; n++) {
      const due = start + (n * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const s = n % SERVICES;
      const list = ips[s] as string[];
      const e = Math.floor(n / SERVICES) % ENDPOINTS;
      const ip = nextRewriteIp();
      list[e] = ip;
      const w: Write = { t0: wallMs(), ack: undefined, subscribers: subscribers[s] ?? 0 };
      written.set(`${ip}:8080`, w);
      writes++;
      inflight.push(
        discovery.replaceNamespacedEndpointSlice({ name: `svc-${s}-a`, namespace: NS, body: sliceBody(s, [...list]) }).then(
          () => {
            w.ack = wallMs();
          },
          (err: Error) => {
            writeErrors++;
            if (errorSamples.size < 5) errorSamples.add(err.message.split('\n')[0] ?? '');
            written.delete(`${ip}:8080`);
          },
        ),
      );
    }
    await Promise.all(inflight);
    const churnSeconds = (performance.now() - start) / 1000;
    const cpu1 = cpuOf(pids);
    const cpuCores = Object.fromEntries(Object.keys(cpu0).map((k) => [k, Math.round((((cpu1[k] ?? 0) - (cpu0[k] ?? 0)) / churnSeconds) * 1000) / 1000]));

    // Collect: wait until every subscribed stream has the last addresses (or 10 s), then ask the children.
    const expected = [...written.values()].reduce((a, w) => a + w.subscribers, 0);
    const report = async () => {
      if (inline) return { deliveries: inline.deliveries, streamErrors: inline.streamErrors() };
      const c = clients as ChildProcess;
      const m = nextMessage(c, 'deliveries', 30_000);
      c.send({ type: 'report' });
      return m;
    };
    t = Date.now();
    let last = await report();
    while (last.deliveries.length < expected && Date.now() - t < 10_000) {
      await sleep(500);
      last = await report();
    }
    const destinationInternal = bucketQuantiles(buckets0, await updateLatencyBuckets(adminPort));
    const probeSeen = nextMessage(probe, 'seen', 30_000);
    probe.send({ type: 'finish' });
    const seen = new Map((await probeSeen).seen);
    const delivered = last.deliveries;
    const streamErrors = last.streamErrors;

    // Stages. Per write: write -> ack (API server), write -> probe (API server incl. watch fan-out).
    // Per delivery: write -> update (end to end), probe -> update (destination + client), ack -> update.
    const writeToAck: number[] = [];
    const writeToWatch: number[] = [];
    for (const [addr, w] of written) {
      if (w.ack !== undefined) writeToAck.push(w.ack - w.t0);
      const at = seen.get(addr);
      if (at !== undefined) writeToWatch.push(at - w.t0);
    }
    const writeToUpdate: number[] = [];
    const watchToUpdate: number[] = [];
    const ackToUpdate: number[] = [];
    const got = new Map<string, number>();
    // The first Add of each address on each stream counts: when the API server falls seconds behind, two
    // writes to one slice can be applied out of order, and an address then goes and comes back.
    const counted = new Set<string>();
    let repeated = 0;
    for (const [addr, at, stream] of delivered) {
      const w = written.get(addr);
      if (!w) continue;
      if (counted.has(`${stream} ${addr}`)) {
        repeated++;
        continue;
      }
      counted.add(`${stream} ${addr}`);
      got.set(addr, (got.get(addr) ?? 0) + 1);
      writeToUpdate.push(at - w.t0);
      const p = seen.get(addr);
      if (p !== undefined) watchToUpdate.push(at - p);
      if (w.ack !== undefined) ackToUpdate.push(Math.max(0, at - w.ack));
    }
    const undelivered = [...written].reduce((a, [addr, w]) => a + Math.max(0, w.subscribers - (got.get(addr) ?? 0)), 0);
    const churnRss = Math.max(...rss);
    const loadAfterChurn = loadavg();

    // Memory: grow to MEMORY_ENDPOINTS endpoints and read RSS once the index has them (the streams stay open).
    const extraServices = MEMORY_ENDPOINTS > 0 ? Math.max(0, Math.ceil(MEMORY_ENDPOINTS / ENDPOINTS) - SERVICES) : 0;
    if (extraServices > 0) await createWorld(kc, SERVICES, SERVICES + extraServices);
    const wantEndpoints = (SERVICES + extraServices) * ENDPOINTS;
    t = Date.now();
    for (;;) {
      const metrics = await fetch(`http://127.0.0.1:${adminPort}/metrics`).then((r) => r.text());
      const pods = Number(/^pod_cache_size (\d+)/m.exec(metrics)?.[1] ?? 0);
      if (pods >= wantEndpoints || Date.now() - t > 60_000) break;
      await sleep(500);
    }
    await sleep(3000);
    const memoryRss = rssMb(pid);
    clearInterval(sampler);
    clients?.send({ type: 'finish' });
    inline?.close();

    const e2e = stats(writeToUpdate);
    const result = {
      benchmark: 'discovery',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, loadavgBeforeMemoryPhase: loadAfterChurn, loadavg: loadavg() },
      setup: `built destination (dist/apps/destination/main.js) as its own process; local kube-apiserver + etcd; pods meshed; selector-less Services with hand-written EndpointSlices; stream clients ${args.clients === 'process' ? 'in their own process' : 'in the writer process'}; watch probe in its own process; all on one machine`,
      services: SERVICES,
      endpointsPerService: ENDPOINTS,
      streams: STREAMS,
      writesPerSecond: RATE,
      seconds: SECONDS,
      clients: args.clients,
      writerPool: args['writer-pool'],
      nodeFlags,
      setupSeconds,
      readySeconds,
      subscribeSeconds,
      writes,
      writeErrors,
      writeErrorSamples: [...errorSamples],
      streamErrors,
      undeliveredAfterChurn: undelivered,
      repeatedAdds: repeated,
      stagesMs: {
        writeToAck: stats(writeToAck),
        writeToWatchProbe: stats(writeToWatch),
        watchProbeToUpdate: stats(watchToUpdate),
        ackToUpdate: stats(ackToUpdate),
        // The destination's own histogram (destination_update_latency_seconds): index change -> stream write.
        destinationChangeToWrite: destinationInternal,
      },
      latencyMs: e2e,
      cpuCoresDuringChurn: cpuCores,
      rssMb: { maxDuringChurn: churnRss, atMemoryEndpoints: memoryRss, memoryEndpoints: wantEndpoints },
      goals: { p99Ms: 100, rssMb: 200 },
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, `${args.out}.json`), JSON.stringify(result, null, 2) + '\n');
    const f = (n: number) => n.toFixed(1);
    const st = result.stagesMs;
    const cores = Object.entries(cpuCores).map(([k, v]) => `${k} ${f(v * 100)}%`).join(', ');
    process.stdout.write(
      `discovery: ${STREAMS} streams over ${SERVICES}x${ENDPOINTS} endpoints, ${RATE} writes/s for ${SECONDS} s: write->update p50 ${f(e2e.p50)} ms, p99 ${f(e2e.p99)} ms, p99.9 ${f(e2e.p999)} ms (${e2e.samples} deliveries, ${undelivered} undelivered, ${writeErrors} write errors); stages p50/p99: write->ack ${f(st.writeToAck.p50)}/${f(st.writeToAck.p99)}, write->watch ${f(st.writeToWatchProbe.p50)}/${f(st.writeToWatchProbe.p99)}, watch->update ${f(st.watchProbeToUpdate.p50)}/${f(st.watchProbeToUpdate.p99)} ms (inside the destination, change->write p50 <= ${st.destinationChangeToWrite.p50AtMostMs} ms, p99 <= ${st.destinationChangeToWrite.p99AtMostMs} ms); CPU during churn: ${cores}; destination RSS ${f(churnRss)} MB during churn, ${f(memoryRss)} MB at ${wantEndpoints} endpoints; load ${loadAfterChurn.map(f).join(' ')}\n`,
    );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    if (dst && dst.exitCode === null) {
      const exited = new Promise((r) => dst?.once('exit', r));
      dst.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
    }
    if (clusterDir && ownCluster) cluster(['down'], clusterDir);
  }
}

await main();
process.exit(0);
