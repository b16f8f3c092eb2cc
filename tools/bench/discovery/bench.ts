// Discovery benchmark: the built destination (dist/apps/destination/main.js) as its own process against a
// local kube-apiserver; S services × E endpoints (pods + EndpointSlices), N open Get streams spread over
// them; EndpointSlices patched at R per second for T seconds; latency measured from the API write to the
// update arriving on every subscribed stream. Then the index grows to 10,000 endpoints and RSS is read.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { ApiextensionsV1Api, CoreV1Api, DiscoveryV1Api, loadYaml, type KubeConfig, type V1CustomResourceDefinition, type V1EndpointSlice } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/k8s';
import { DestinationClient, tcpAddressToString, type destination } from '@trellis/proto';

const root = join(import.meta.dirname, '..', '..', '..');
const bundle = join(root, 'dist', 'apps', 'destination', 'main.js');
const resultsDir = join(root, 'tools', 'bench', 'results');

const { values: args } = parseArgs({
  options: {
    services: { type: 'string', default: '500' },
    endpoints: { type: 'string', default: '10' },
    streams: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '60' },
    'memory-endpoints': { type: 'string', default: '10000' },
    // A smaller young generation keeps RSS close to the live heap; the image should run with the same flag.
    'node-flags': { type: 'string', default: '--max-semi-space-size=2' },
    kubeconfig: { type: 'string', default: process.env['TRELLIS_KUBECONFIG'] ?? '' },
  },
});
const SERVICES = Number(args.services);
const ENDPOINTS = Number(args.endpoints);
const STREAMS = Number(args.streams);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const MEMORY_ENDPOINTS = Number(args['memory-endpoints']);
const NS = 'bench-discovery';

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

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
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

async function createWorld(kc: KubeConfig, from: number, to: number): Promise<string[][]> {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const services = Array.from({ length: to - from }, (_, i) => from + i);
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
    });
    pod.status = { phase: 'Running', podIP: ipOf(s, e), podIPs: [{ ip: ipOf(s, e) }] };
    await core.replaceNamespacedPodStatus({ name, namespace: NS, body: pod });
  });
  const ips: string[][] = [];
  await pool(services, 16, async (s) => {
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: `svc-${s}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } } });
    const list = Array.from({ length: ENDPOINTS }, (_, e) => ipOf(s, e));
    ips[s - from] = list;
    await discovery.createNamespacedEndpointSlice({ namespace: NS, body: sliceBody(s, list) });
  });
  return ips;
}

async function main(): Promise<void> {
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run nx run @trellis/destination:build first`);
  let clusterDir: string | undefined;
  let kubeconfig = args.kubeconfig;
  let dst: ChildProcess | undefined;
  try {
    if (!kubeconfig) {
      clusterDir = mkdtempSync(join(tmpdir(), 'trellis-bench-discovery-'));
      process.stderr.write(`discovery: starting a local API server in ${clusterDir}\n`);
      cluster(['up', '--controllers=false'], clusterDir);
      kubeconfig = join(clusterDir, 'kubeconfig');
    }
    const kc = loadKubeConfig({ kubeconfig });
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
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
    const ips = await createWorld(kc, 0, SERVICES);
    const setupSeconds = (Date.now() - t) / 1000;
    process.stderr.write(`discovery: created ${SERVICES} services, ${SERVICES * ENDPOINTS} pods and endpoints in ${setupSeconds.toFixed(1)} s\n`);

    const [port, adminPort] = await Promise.all([freePort(), freePort()]);
    const nodeFlags = args['node-flags'].split(' ').filter(Boolean);
    dst = spawn(node, [...nodeFlags, bundle, '--kubeconfig', kubeconfig, '--addr', `127.0.0.1:${port}`, '--policy-addr', '127.0.0.1:0', '--metrics-addr', `127.0.0.1:${adminPort}`, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
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

    // Streams: spread round-robin over the services, over 10 connections.
    const channels = Array.from({ length: 10 }, (_, i) => new DestinationClient(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.bench_channel': i }));
    const pending = new Map<string, { t0: number; ack: number | undefined; waiting: number }>();
    const latencies: number[] = [];
    const fromAck: number[] = [];
    const subscribers = new Array<number>(SERVICES).fill(0);
    let initial = 0;
    let streamErrors = 0;
    for (let i = 0; i < STREAMS; i++) {
      const s = i % SERVICES;
      subscribers[s] = (subscribers[s] ?? 0) + 1;
      const call = (channels[i % channels.length] as DestinationClient).get({ scheme: '', path: `svc-${s}.${NS}.svc.cluster.local:80`, contextToken: '' });
      let first = true;
      call.on('data', (u: destination.Update) => {
        if (first) {
          first = false;
          initial++;
          return;
        }
        if (u.update?.$case !== 'add') return;
        const now = performance.now();
        for (const a of u.update.value.addrs) {
          const p = a.addr ? pending.get(tcpAddressToString(a.addr)) : undefined;
          if (!p) continue;
          latencies.push(now - p.t0);
          // From the API server's acknowledgement of the write: the destination's own share (0 if the update won the race).
          if (p.ack !== undefined) fromAck.push(Math.max(0, now - p.ack));
          if (--p.waiting === 0) pending.delete(tcpAddressToString(a.addr as NonNullable<typeof a.addr>));
        }
      });
      call.on('error', () => streamErrors++);
    }
    t = Date.now();
    while (initial < STREAMS) {
      if (Date.now() - t > 60_000) throw new Error(`only ${initial} of ${STREAMS} streams got their first update`);
      await sleep(20);
    }
    const subscribeSeconds = (Date.now() - t) / 1000;
    process.stderr.write(`discovery: ${STREAMS} streams subscribed in ${subscribeSeconds.toFixed(1)} s; patching ${RATE}/s for ${SECONDS} s\n`);

    // Churn: each write replaces one endpoint of one service with a new address.
    const total = RATE * SECONDS;
    let writes = 0;
    let writeErrors = 0;
    const writeMs: number[] = [];
    const errorSamples = new Set<string>();
    const cpu0 = cpuSeconds(pid);
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
      const expected = subscribers[s] ?? 0;
      const entry = { t0: performance.now(), ack: undefined as number | undefined, waiting: expected };
      if (expected > 0) pending.set(`${ip}:8080`, entry);
      writes++;
      const w0 = performance.now();
      inflight.push(
        discovery.replaceNamespacedEndpointSlice({ name: `svc-${s}-a`, namespace: NS, body: sliceBody(s, [...list]) }).then(
          () => {
            entry.ack = performance.now();
            writeMs.push(entry.ack - w0);
          },
          (err: Error) => {
            writeErrors++;
            if (errorSamples.size < 5) errorSamples.add(err.message.split('\n')[0] ?? '');
            pending.delete(`${ip}:8080`);
          },
        ),
      );
    }
    await Promise.all(inflight);
    const churnSeconds = (performance.now() - start) / 1000;
    const destinationCpu = (cpuSeconds(pid) - cpu0) / churnSeconds;
    t = Date.now();
    while (pending.size > 0 && Date.now() - t < 10_000) await sleep(50);
    const undelivered = [...pending.values()].reduce((a, p) => a + p.waiting, 0);
    const churnRss = Math.max(...rss);
    const sorted = [...latencies].sort((a, b) => a - b);
    const writesSorted = [...writeMs].sort((a, b) => a - b);
    const ackSorted = [...fromAck].sort((a, b) => a - b);

    // Memory: grow to MEMORY_ENDPOINTS endpoints and read RSS once the index has them.
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
    for (const c of channels) c.close();

    const result = {
      benchmark: 'discovery',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, loadavg: loadavg() },
      setup: 'built destination (dist/apps/destination/main.js) as its own process; local kube-apiserver + etcd; pods meshed; selector-less Services with hand-written EndpointSlices; bench client on the same machine',
      services: SERVICES,
      endpointsPerService: ENDPOINTS,
      streams: STREAMS,
      writesPerSecond: RATE,
      seconds: SECONDS,
      setupSeconds,
      readySeconds,
      subscribeSeconds,
      writes,
      writeErrors,
      writeErrorSamples: [...errorSamples],
      apiWriteMs: { p50: percentile(writesSorted, 50), p99: percentile(writesSorted, 99) },
      ackToUpdateMs: { samples: ackSorted.length, p50: percentile(ackSorted, 50), p99: percentile(ackSorted, 99), p999: percentile(ackSorted, 99.9) },
      nodeFlags,
      destinationCpuCores: destinationCpu,
      streamErrors,
      samples: sorted.length,
      undeliveredAfter10s: undelivered,
      latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), max: sorted[sorted.length - 1] ?? NaN },
      rssMb: { maxDuringChurn: churnRss, atMemoryEndpoints: memoryRss, memoryEndpoints: wantEndpoints },
      goals: { p99Ms: 100, rssMb: 200 },
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'discovery.json'), JSON.stringify(result, null, 2) + '\n');
    const f = (n: number) => n.toFixed(1);
    process.stdout.write(
      `discovery: ${STREAMS} streams over ${SERVICES}x${ENDPOINTS} endpoints, ${RATE} writes/s for ${SECONDS} s: write->update p50 ${f(result.latencyMs.p50)} ms, p99 ${f(result.latencyMs.p99)} ms, p99.9 ${f(result.latencyMs.p999)} ms (${sorted.length} deliveries, ${undelivered} undelivered, ${writeErrors} write errors; API write p50 ${f(result.apiWriteMs.p50)} ms; ack->update p50 ${f(result.ackToUpdateMs.p50)} ms p99 ${f(result.ackToUpdateMs.p99)} ms; destination ${f(destinationCpu * 100)}% CPU); destination RSS ${f(churnRss)} MB during churn, ${f(memoryRss)} MB at ${wantEndpoints} endpoints\n`,
    );
  } finally {
    dst?.kill('SIGTERM');
    if (clusterDir) cluster(['down'], clusterDir);
  }
}

await main();
process.exit(0);
