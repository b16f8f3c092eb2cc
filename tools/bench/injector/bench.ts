// Injector benchmark: admission latency at a constant request rate, then closed-loop throughput. See README.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, rssMb } from '../lib/proc.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const bundle = join(root, 'dist', 'apps', 'proxy-injector', 'main.js');
const resultsDir = join(root, 'tools', 'bench', 'results');

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    'max-seconds': { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
  },
});
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const warmupSeconds = Number(args.warmup);
const maxSeconds = Number(args['max-seconds']);
const concurrency = Number(args.concurrency);

const NAMESPACE = 'bench';
const RS = 'web-5d8b4f9c7';

/** Answers the three calls the webhook makes: the namespace, the pod's ReplicaSet, and Event creation. */
function fakeApi(): Promise<{ server: Server; port: number; calls: Record<string, number> }> {
  const calls: Record<string, number> = {};
  const server = createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0] ?? '';
    const key = `${req.method} ${url}`;
    calls[key] = (calls[key] ?? 0) + 1;
    req.resume();
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, resourceVersion: '1', annotations: { 'linkerd.io/inject': 'enabled' } } };
    if (req.method === 'GET' && url === `/api/v1/namespaces/${NAMESPACE}`) return json(200, namespace);
    if (req.method === 'GET' && url === '/api/v1') {
      return json(200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list', 'watch'] }] });
    }
    // The namespace list and an open watch that stays quiet, for an injector that caches namespaces by watching.
    if (req.method === 'GET' && url === '/api/v1/namespaces') {
      if ((req.url ?? '').includes('watch=true')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        return;
      }
      return json(200, { apiVersion: 'v1', kind: 'NamespaceList', metadata: { resourceVersion: '1' }, items: [namespace] });
    }
    if (req.method === 'GET' && url === `/apis/apps/v1/namespaces/${NAMESPACE}/replicasets/${RS}`) {
      return json(200, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: RS, namespace: NAMESPACE, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }] },
      });
    }
    if (req.method === 'POST' && url === `/api/v1/namespaces/${NAMESPACE}/events`) return json(201, { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' } });
    json(404, { apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, calls })));
}

function reviewBody(i: number): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: NAMESPACE,
      operation: 'CREATE',
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          generateName: `${RS}-`,
          namespace: NAMESPACE,
          labels: { app: 'web-svc', 'pod-template-hash': '5d8b4f9c7' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: RS, uid: 'rs-uid', controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          serviceAccountName: 'web',
          containers: [
            {
              name: 'web-svc',
              image: 'docker.l5d.io/buoyantio/emojivoto-web:v11',
              env: [
                { name: 'WEB_PORT', value: '8080' },
                { name: 'EMOJISVC_HOST', value: 'emoji-svc.emojivoto:8080' },
                { name: 'VOTINGSVC_HOST', value: 'voting-svc.emojivoto:8080' },
              ],
              ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
              resources: { requests: { cpu: '100m' } },
              volumeMounts: [{ name: 'kube-api-access-x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
            },
          ],
          volumes: [{ name: 'kube-api-access-x', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
        },
      },
    },
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Keeps the calibration loop's result alive so the compiler cannot drop the loop. */
let _calibrationSink = 0;

/** Wall time over CPU time of a fixed busy loop: 1 on an idle machine, N when N runnable threads share our core. */
function contention(): number {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  let x = 0;
  for (let i = 0; i < 20_000_000; i++) x = (x + i * 7) % 1_000_003;
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - wall;
  _calibrationSink ^= x;
  return Math.round((wallMs / ((used.user + used.system) / 1000)) * 100) / 100;
}

function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

async function waitReady(adminPort: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`injector exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('injector not ready after 15 s');
}

async function main(): Promise<void> {
  if (!existsSync(bundle)) {
    execFileSync(join(root, 'node_modules', '.bin', 'nx'), ['run', '@trellis/proxy-injector:build'], { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' } });
  }
  const dir = mkdtempSync(join(tmpdir(), 'trellis-bench-injector-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=bench',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'values'), 'proxy:\n  logLevel: warn,linkerd=info\n');
  writeFileSync(join(dir, 'ca-bundle.crt'), readFileSync(join(dir, 'tls.crt')));
  const api = await fakeApi();
  writeFileSync(join(dir, 'kubeconfig'), [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: fake', '  cluster:', `    server: http://127.0.0.1:${api.port}`, '    insecure-skip-tls-verify: true',
    'users:', '- name: bench', '  user:', '    token: bench',
    'contexts:', '- name: fake', '  context: {cluster: fake, user: bench}',
    'current-context: fake', '',
  ].join('\n'));

  const port = 20000 + Math.floor(Math.random() * 20000);
  const adminPort = port + 1;
  const child = spawn(process.execPath, [bundle, '--addr', `127.0.0.1:${port}`, '--metrics-addr', `127.0.0.1:${adminPort}`,
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--values-file', join(dir, 'values'),
    '--trust-anchors-file', join(dir, 'ca-bundle.crt'), '--kubeconfig', join(dir, 'kubeconfig'), '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitReady(adminPort, child);
    const ca = readFileSync(join(dir, 'tls.crt'));
    // kube-apiserver keeps connections to a webhook open; so does this client.
    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
    let n = 0;
    const once = (): Promise<{ ms: number; ok: boolean }> =>
      new Promise((resolve) => {
        const body = reviewBody(n++);
        const start = process.hrtime.bigint();
        const req = request({ host: '127.0.0.1', port, path: '/', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            resolve({ ms, ok: res.statusCode === 200 && text.includes('"patchType":"JSONPatch"') });
          });
        });
        req.on('error', () => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, ok: false }));
        req.end(body);
      });

    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(child.pid) * 1024)), 200);

    // Constant rate, open loop: request k is sent at start + k/rate whatever happened to earlier ones.
    const paced = async (durationS: number): Promise<{ ms: number; ok: boolean }[]> => {
      const total = Math.round(rate * durationS);
      const started = performance.now();
      const pending: Promise<{ ms: number; ok: boolean }>[] = [];
      for (let k = 0; k < total; k++) {
        const due = started + (k * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        pending.push(once());
      }
      return Promise.all(pending);
    };
    await paced(warmupSeconds);
    const contentionBefore = contention();
    const cpuBefore = cpuSeconds(child.pid);
    const loadBefore = loadAverage();
    const results = await paced(seconds);
    const cpuMsPerRequest = ((cpuSeconds(child.pid) - cpuBefore) * 1000) / results.length;
    const loadAfter = loadAverage();
    const contentionAfter = contention();
    const latencies = results.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
    const errors = results.length - latencies.length;

    // Closed loop: `concurrency` requests in flight for max-seconds.
    let done = 0;
    const until = performance.now() + maxSeconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) if ((await once()).ok) done++;
      }),
    );
    const maxRps = done / maxSeconds;
    clearInterval(sampler);

    const round = (x: number) => Math.round(x * 1000) / 1000;
    const result = {
      benchmark: 'injector',
      date: new Date().toISOString(),
      rate,
      seconds,
      requests: results.length,
      errors,
      latencyMs: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), p999: round(percentile(latencies, 99.9)), max: round(latencies.at(-1) ?? NaN) },
      maxThroughput: { concurrency, seconds: maxSeconds, requestsPerSecond: Math.round(maxRps) },
      injectorPeakRssMb: Math.round(peakRss / 1024),
      // The machine is shared: CPU per request does not depend on contention, latency percentiles do.
      injectorCpuMsPerRequest: round(cpuMsPerRequest),
      loadAverage1m: { before: loadBefore, after: loadAfter },
      contentionFactor: { before: contentionBefore, after: contentionAfter },
      apiCalls: api.calls,
      goal: { p99Ms: 5, met: percentile(latencies, 99) <= 5 && errors === 0 },
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'injector.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(
      `injector: ${rate}/s for ${seconds}s: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, p99.9 ${result.latencyMs.p999} ms, max ${result.latencyMs.max} ms, ` +
        `errors ${errors}; max ${result.maxThroughput.requestsPerSecond}/s at concurrency ${concurrency}; peak RSS ${result.injectorPeakRssMb} MB; injector CPU ${result.injectorCpuMsPerRequest} ms/request; load ${loadBefore}, contention x${contentionBefore}/x${contentionAfter}; goal p99 <= 5 ms ${result.goal.met ? 'met' : 'NOT met'}\n`,
    );
    agent.destroy();
  } finally {
    // Stop the injector before its API goes away, so its watch does not report the API's disappearance.
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    api.server.closeAllConnections();
    api.server.close();
  }
}

await main();
