// `trellis viz routes deploy/books` (no --to) on real inbound route metrics: two pods in network namespaces with
// proxy-init's rules and meshed proxy processes (Certify and Destination stand-ins on the host), the pinned
// Prometheus scraping the server proxy's admin port, the metrics API and the CLI from their sources against the
// test's kube-apiserver (the Deployment, its Service and its ServiceProfile). Requests reach books through the
// client's proxy (l5d-dst-canonical) and from the host with only Host; the table shows each route with figures.
// Latency quantiles are irate()s, as Linkerd's: the CLI runs while requests still flow. Needs root.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destination, tcpAddress } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFakeIdentity, type FakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination, type StubDestination } from './mesh-stub-destination.ts';
import { client, startApp, type Pod } from './netns.ts';
import { linkedPods, meshDir, proxyReady, startMeshedPodProxy, tearDownMesh } from './netns-mesh.ts';

const kubeconfig = inject('kubeconfig');
const ROOT = join(import.meta.dirname, '..', '..', '..');
const KUBE_VERSION = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
const NS = `trellis-vizroutes-${process.pid}`;
const FQN = `books.${NS}.svc.cluster.local`;
const SERVICE_IP = '10.96.0.10';
const WEB = 'web.test.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.test.serviceaccount.identity.trellis.cluster.local';
const LINKS = { client: ['10.245.97.1', '10.245.97.2'], server: ['10.245.97.5', '10.245.97.6'] } as const;

function run(cmd: string, args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr}${stdout}`)) : resolve(stdout)));
    child.stdin?.end(stdin);
  });
}
const kubectl = (args: readonly string[], stdin = '') => run(join(ROOT, 'tools/bin/kubectl'), ['--kubeconfig', kubeconfig, ...args], stdin);

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** A plain HTTP/1 request from the host to the server pod with only `host` naming the service. */
function fromHost(method: string, path: string, host: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: LINKS.server[1], port: 8080, method, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
}

/** books' ServiceProfile, as Destination sends it and as it is in the API server. */
const ROUTES = [
  { name: 'GET /books/{id}', method: 'GET', pathRegex: '/books/[^/]+' },
  { name: 'POST /orders', method: 'POST', pathRegex: '/orders' },
];
const PROFILE = destination.DestinationProfile.fromPartial({
  fullyQualifiedName: FQN,
  routes: ROUTES.map((r) => ({
    metricsLabels: { route: r.name },
    condition: { match: { $case: 'all', value: { matches: [{ match: { $case: 'method', value: { type: { $case: 'unregistered', value: r.method } } } }, { match: { $case: 'path', value: { regex: r.pathRegex } } }] } } },
  })),
});

const children: (ChildProcess | undefined)[] = [];
const made: Pod[] = [];
let dir: string | undefined;
let promDir: string | undefined;
let identity: FakeIdentity | undefined;
let dst: StubDestination | undefined;
let pods: { client: Pod; server: Pod };
let metricsApi = '';

afterAll(async () => {
  await tearDownMesh(children, [identity, dst], made, dir);
  if (promDir) await rm(promDir, { recursive: true, force: true });
  await kubectl(['delete', 'namespace', NS, '--wait=false']).catch(() => undefined);
}, 60_000);

beforeAll(async () => {
  const pki = await createMeshPki();
  dir = await meshDir('trellis-viz-routes-');
  pods = await linkedPods(97, 'trv', LINKS);
  made.push(pods.client, pods.server);
  identity = await startFakeIdentity(pki, { host: '0.0.0.0' });
  dst = await startStubDestination(pki, { host: '0.0.0.0' });
  dst.profiles.set(`${SERVICE_IP}:8080`, PROFILE);
  dst.profiles.set(`${FQN}:8080`, PROFILE);
  dst.services.set(`${FQN}:8080`, [
    destination.Update.fromPartial({
      update: { $case: 'add', value: { metricLabels: { namespace: NS, service: 'books' }, addrs: [{ addr: tcpAddress(pods.server.ip, 8080), weight: 10000, tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } }, protocolHint: { protocol: { $case: 'h2', value: {} } } }] } },
    }),
  ]);
  const control = { dir, pki, identity, dst };
  children.push(await startApp(pods.server));
  children.push(await startMeshedPodProxy(control, pods.server, BOOKS, LINKS.server));
  children.push(await startMeshedPodProxy(control, pods.client, WEB, LINKS.client));
  for (const p of [pods.client, pods.server]) await proxyReady(p, Date.now() + 20_000);

  const crds = await run(join(ROOT, 'tools/bin/helm'), ['template', 'trellis-crds', join(ROOT, 'helm/trellis-crds'), '-s', 'templates/serviceprofile.yaml', '--kube-version', KUBE_VERSION]);
  await kubectl(['apply', '-f', '-'], crds);
  await kubectl(['wait', '--for', 'condition=established', '--timeout=60s', 'crd/serviceprofiles.linkerd.io']);
  await kubectl(['create', 'namespace', NS]);
  const objects = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'books', namespace: NS }, spec: { replicas: 1, selector: { matchLabels: { app: 'books' } }, template: { metadata: { labels: { app: 'books', 'linkerd.io/control-plane-ns': 'trellis' } }, spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }] } } } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'books', namespace: NS }, spec: { selector: { app: 'books' }, ports: [{ port: 8080 }] } },
    { apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name: FQN, namespace: NS }, spec: { routes: ROUTES.map((r) => ({ name: r.name, condition: { method: r.method, pathRegex: r.pathRegex } })) } },
  ];
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  let pod = '';
  for (const until = Date.now() + 60_000; !pod; ) {
    if (Date.now() > until) throw new Error(`no pod of deploy/books in ${NS}`);
    pod = (await kubectl(['-n', NS, 'get', 'pods', '-o', 'jsonpath={.items[0].metadata.name}']).catch(() => '')).trim();
    if (!pod) await new Promise((r) => setTimeout(r, 300));
  }

  // Prometheus labels the server proxy's series as the chart's relabelling would (its namespace, pod, deployment).
  promDir = await mkdtemp(join(tmpdir(), 'trellis-viz-routes-prom-'));
  const jobs = [{ targets: [`${LINKS.server[1]}:4191`], labels: { namespace: NS, pod, deployment: 'books' } }];
  await writeFile(join(promDir, 'prometheus.yml'), `global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n- job_name: linkerd-proxy\n  static_configs: ${JSON.stringify(jobs)}\n`);
  const promPort = await freePort();
  children.push(spawn(join(ROOT, 'tools/bin/prometheus'), [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' }));
  const apiPort = await freePort();
  metricsApi = `http://127.0.0.1:${apiPort}`;
  children.push(spawn(process.execPath, [join(ROOT, 'apps/metrics-api/src/main.ts'), '--addr', `127.0.0.1:${apiPort}`, '--admin-addr', '127.0.0.1:0', '--prometheus-url', `http://127.0.0.1:${promPort}`, '--kubeconfig', kubeconfig], { stdio: 'ignore' }));
}, 16 * 60_000);

describe('viz routes on inbound route metrics', () => {
  it('shows the workload\'s inbound profile routes and [DEFAULT] with success rate, rps and latency', async () => {
    // 30 s of requests: GET /books/{id} from the host (Host only) and through the client's proxy, POST /orders from
    // the host, GET /authors (no route) through the client's proxy.
    const until = Date.now() + 30_000;
    let stop = false;
    const steady = (async () => {
      for (let i = 0; !stop; i++) {
        await fromHost('GET', `/books/${i}`, FQN);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    let table = '';
    try {
      while (Date.now() < until) {
        await client(pods.client, 'get', SERVICE_IP, '8080', '/books/via-proxy');
        await client(pods.client, 'get', SERVICE_IP, '8080', '/authors');
        await fromHost('POST', '/orders', `${FQN}:8080`);
      }
      // While requests still flow: the latency quantiles are irate()s over the last scrapes.
      table = await run(process.execPath, [join(ROOT, 'apps/cli/src/main.ts'), 'viz', 'routes', 'deploy/books', '-n', NS, '-t', '30s', '--metrics-api', metricsApi, '--kubeconfig', kubeconfig]);
    } finally {
      stop = true;
      await steady;
    }
    console.log(`[viz routes] trellis viz routes deploy/books -n ${NS} -t 30s\n${table}`);
    const rows = new Map(table.trim().split('\n').slice(1).map((l): [string, string[]] => {
      const [route = '', ...cells] = l.split(/\s{2,}/);
      return [route, cells];
    }));
    expect([...rows.keys()]).toEqual(['GET /books/{id}', 'POST /orders', '[DEFAULT]']);
    for (const cells of rows.values()) {
      expect(cells.slice(0, 2)).toEqual(['books', '100.00%']);
      expect(Number.parseFloat(cells[2] ?? '')).toBeGreaterThan(0);
    }
    // The steady route has latency figures; none of its cells is "-".
    expect(rows.get('GET /books/{id}')?.slice(3).every((c) => /^\d+ms$/.test(c))).toBe(true);
  }, 120_000);
});
