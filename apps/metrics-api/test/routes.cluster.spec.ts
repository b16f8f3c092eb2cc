// Per-route stats against a real kube-apiserver (the Deployments, their pods, the Services selecting them and a
// ServiceProfile) and a real Prometheus scraping FAKE proxies (fake-route-metrics.ts says why) that report each
// kind of route: ServiceProfile routes on the server (inbound) and on a client (with retries), HTTPRoute and
// GRPCRoute routes on clients (outbound_*_route_*), and an HTTPRoute on a server (the endpoint series' route labels).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadKubeConfig } from '@trellis/k8s';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { parseCommandLine } from '@trellis/config';
import { metricsApiConfig, METRICS_API_SPEC } from '../src/config.ts';
import { startMetricsApi, type RunningMetricsApi } from '../src/metrics-api.ts';
import type { RouteRow } from '../src/stats/routes.ts';
import { MS_BUCKETS, SECONDS_BUCKETS, startFakeTargets, type FakeSeries, type FakeTargets } from './fake-route-metrics.ts';
import { startPrometheus, type RunningPrometheus } from './prometheus.ts';

const kubeconfig = inject('kubeconfig');
const ROOT = join(import.meta.dirname, '..', '..', '..');
const KUBECTL = join(ROOT, 'tools/bin/kubectl');
const KUBE_VERSION = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, 'tools/bin/versions.env'), 'utf8'))?.[1] ?? '';
const ns = `trellis-routes-${randomBytes(3).toString('hex')}`;

function run(cmd: string, args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    child.stdin?.end(stdin);
  });
}
const kubectl = (args: readonly string[], stdin = '') => run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], stdin);

const deployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name, 'linkerd.io/control-plane-ns': 'trellis' } }, spec: { containers: [{ name: 'app', image: `trellis/demo-${name}:0.1.0` }] } },
  },
});
const service = (name: string, app: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app }, ports: [{ port: 8080 }] } });
const profile = {
  apiVersion: 'linkerd.io/v1alpha2',
  kind: 'ServiceProfile',
  metadata: { name: `web-svc.${ns}.svc.cluster.local`, namespace: ns },
  spec: {
    routes: [
      { name: 'GET /api/list', condition: { method: 'GET', pathRegex: '/api/list' } },
      { name: 'GET /api/vote', condition: { method: 'GET', pathRegex: '/api/vote' } },
      { name: 'POST /api/unused', condition: { method: 'POST', pathRegex: '/api/unused' } },
    ],
  },
};

const webDst = () => `web-svc.${ns}.svc.cluster.local:8080`;

/** web's proxy: its inbound ServiceProfile routes (as linkerd2-proxy and Trellis' proxy report them: apps/proxy's inbound-profile-routes.root.spec.ts) and an inbound HTTPRoute. */
function webSeries(): FakeSeries[] {
  const rt = (route: string | undefined, status: string, classification: string, perSecond: number, ms: number): FakeSeries[] => {
    const l = { direction: 'inbound', dst: webDst(), ...(route ? { rt_route: route } : {}), status_code: status };
    return [
      { name: 'route_response_total', labels: { ...l, classification }, perSecond },
      { name: 'route_response_latency_ms', labels: l, perSecond, histogram: { buckets: MS_BUCKETS, value: ms } },
    ];
  };
  const inbound = (kind: string, name: string, classification: string, perSecond: number, port = '8080'): FakeSeries[] => {
    const l = { direction: 'inbound', target_addr: `10.244.0.9:${port}`, target_port: port, tls: 'true', srv_group: 'policy.linkerd.io', srv_kind: 'server', srv_name: 'web-http', srv_port: port, route_group: kind === 'default' ? '' : 'policy.linkerd.io', route_kind: kind, route_name: name, status_code: classification === 'success' ? '200' : '500' };
    return [
      { name: 'response_total', labels: { ...l, classification }, perSecond },
      { name: 'response_latency_ms', labels: l, perSecond, histogram: { buckets: MS_BUCKETS, value: 4 } },
    ];
  };
  return [
    ...rt('GET /api/list', '200', 'success', 4, 2),
    ...rt('GET /api/vote', '200', 'success', 3, 8),
    ...rt('GET /api/vote', '500', 'failure', 1, 8),
    ...rt(undefined, '200', 'success', 1, 1),
    ...inbound('HTTPRoute', 'web-api', 'success', 2),
    ...inbound('HTTPRoute', 'web-api', 'failure', 2),
    // Requests on the default route (no HTTPRoute of the Server) and to the admin port are not route rows.
    ...inbound('default', 'default', 'success', 5),
    ...inbound('HTTPRoute', 'probes', 'success', 5, '4191'),
  ];
}

/** vote-bot's proxy: its outbound ServiceProfile route to web-svc, with retries (actual > effective). */
function voteBotSeries(): FakeSeries[] {
  const l = (status: string) => ({ direction: 'outbound', dst: webDst(), rt_route: 'GET /api/vote', status_code: status });
  return [
    { name: 'route_response_total', labels: { ...l('200'), classification: 'success' }, perSecond: 4 },
    { name: 'route_response_total', labels: { ...l('500'), classification: 'failure' }, perSecond: 1 },
    { name: 'route_actual_response_total', labels: { ...l('200'), classification: 'success' }, perSecond: 4 },
    { name: 'route_actual_response_total', labels: { ...l('500'), classification: 'failure' }, perSecond: 4 },
    { name: 'route_response_latency_ms', labels: l('200'), perSecond: 5, histogram: { buckets: MS_BUCKETS, value: 30 } },
  ];
}

/** web's client side: an HTTPRoute (and the default route) to voting-svc, a GRPCRoute to emoji-svc. */
function webClientSeries(): FakeSeries[] {
  const parent = (svc: string) => ({ parent_group: 'core', parent_kind: 'Service', parent_namespace: ns, parent_name: svc, parent_port: '8080', parent_section_name: '' });
  const route = (kind: string, name: string) => ({ route_group: kind === 'default' ? '' : 'gateway.networking.k8s.io', route_kind: kind, route_namespace: kind === 'default' ? '' : ns, route_name: name });
  const http = (kind: string, name: string, status: string, error: string, perSecond: number): FakeSeries => ({
    name: 'outbound_http_route_request_statuses_total',
    labels: { ...parent('voting-svc'), ...route(kind, name), http_status: status, error },
    perSecond,
  });
  return [
    http('HTTPRoute', 'vote-route', '200', '', 3),
    http('HTTPRoute', 'vote-route', '503', '', 1),
    http('HTTPRoute', 'vote-route', '', 'FAIL_FAST', 1),
    http('default', '', '200', '', 1),
    { name: 'outbound_http_route_request_duration_seconds', labels: { ...parent('voting-svc'), ...route('HTTPRoute', 'vote-route') }, perSecond: 5, histogram: { buckets: SECONDS_BUCKETS, value: 0.2 } },
    { name: 'outbound_grpc_route_request_statuses_total', labels: { ...parent('emoji-svc'), ...route('GRPCRoute', 'emoji-list'), grpc_status: 'OK', error: '' }, perSecond: 3 },
    { name: 'outbound_grpc_route_request_statuses_total', labels: { ...parent('emoji-svc'), ...route('GRPCRoute', 'emoji-list'), grpc_status: 'NOT_FOUND', error: '' }, perSecond: 1 },
    { name: 'outbound_grpc_route_request_statuses_total', labels: { ...parent('emoji-svc'), ...route('GRPCRoute', 'emoji-list'), grpc_status: 'UNAVAILABLE', error: '' }, perSecond: 1 },
  ];
}

let targets: FakeTargets;
let prometheus: RunningPrometheus;
let api: RunningMetricsApi;

const get = async (path: string) => {
  const res = await fetch(`http://127.0.0.1:${api.api.port}${path}`);
  return { status: res.status, body: (await res.json()) as { rows: RouteRow[]; error?: { code: string; message: string } } };
};
const routes = async (query: string) => {
  const r = await get(`/api/v1/routes?namespace=${ns}&window=10s&${query}`);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.rows;
};
const find = (rows: readonly RouteRow[], parent: string, route: string) => rows.find((r) => r.parent.name === parent && r.route === route);

beforeAll(async () => {
  const crds = await run(join(ROOT, 'tools/bin/helm'), ['template', 'trellis-crds', join(ROOT, 'helm/trellis-crds'), '-s', 'templates/serviceprofile.yaml', '--kube-version', KUBE_VERSION]);
  await kubectl(['apply', '-f', '-'], crds);
  await kubectl(['wait', '--for', 'condition=established', '--timeout=60s', 'crd/serviceprofiles.linkerd.io']);
  await kubectl(['create', 'namespace', ns]);
  const objects = [deployment('web'), deployment('vote-bot'), deployment('voting'), deployment('emoji'), service('web-svc', 'web'), service('voting-svc', 'voting'), service('emoji-svc', 'emoji'), profile];
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  const deadline = Date.now() + 60_000;
  let pods: { metadata: { name: string; labels: Record<string, string> } }[] = [];
  while (pods.length < 4) {
    if (Date.now() > deadline) throw new Error(`expected 4 pods in ${ns}, have ${pods.length}`);
    await new Promise((r) => setTimeout(r, 200));
    pods = (JSON.parse(await kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])) as { items: typeof pods }).items;
  }
  const podOf = (app: string) => pods.find((p) => p.metadata.labels['app'] === app)?.metadata.name ?? '';
  targets = await startFakeTargets([[...webSeries(), ...webClientSeries()], voteBotSeries()]);
  const jobs = [
    { targets: [targets.addrs[0]], labels: { namespace: ns, pod: podOf('web'), deployment: 'web' } },
    { targets: [targets.addrs[1]], labels: { namespace: ns, pod: podOf('vote-bot'), deployment: 'vote-bot' } },
  ];
  prometheus = await startPrometheus(`global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n- job_name: linkerd-proxy\n  static_configs: ${JSON.stringify(jobs)}\n`);
  const cli = parseCommandLine(METRICS_API_SPEC, ['--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--prometheus-url', prometheus.url, '--log-level', 'fatal']);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  api = await startMetricsApi(metricsApiConfig(cli), { log: createLogger({ name: 'test', level: 'fatal', format: 'json' }), registry: createRegistry(), kubeConfig: loadKubeConfig({ kubeconfig }) });
  // Rates need several scrapes of each target.
  for (const until = Date.now() + 90_000; ; ) {
    const rows = await routes('resource=deploy/web&to=svc/voting-svc').catch(() => []);
    const list = await routes('resource=deploy/web').catch(() => []);
    if ((find(rows, 'voting-svc', 'vote-route')?.stats?.successCount ?? 0) >= 20 && (find(list, 'web-svc', 'GET /api/list')?.stats?.successCount ?? 0) >= 30) break;
    if (Date.now() > until) throw new Error('Prometheus did not gather enough samples within 90 s');
    await new Promise((r) => setTimeout(r, 500));
  }
}, 16 * 60_000);

afterAll(async () => {
  await api?.close();
  await prometheus?.stop();
  await targets?.close();
  await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
});

describe('GET /api/v1/routes', () => {
  it("lists a workload's inbound routes: its Service's profile routes (declared ones without traffic too), [DEFAULT] last, and its Server's HTTPRoutes", async () => {
    const rows = await routes('resource=deploy/web');
    expect(rows.map((r) => `${r.parent.kind}/${r.parent.name} ${r.route} ${r.kind}`)).toEqual([
      'Service/web-svc GET /api/list ServiceProfile',
      'Service/web-svc GET /api/vote ServiceProfile',
      'Service/web-svc POST /api/unused ServiceProfile',
      'Service/web-svc [DEFAULT] default',
      'Server/web-http web-api HTTPRoute',
    ]);
    const list = find(rows, 'web-svc', 'GET /api/list');
    expect(list?.authority).toBe(webDst());
    expect(list?.stats?.successRate).toBe(1);
    expect(list?.stats?.rps).toBeGreaterThan(2.5);
    expect(list?.stats?.latencyMs.p50).toBeGreaterThan(1);
    expect(list?.stats?.latencyMs.p50).toBeLessThanOrEqual(2);
    const vote = find(rows, 'web-svc', 'GET /api/vote');
    expect(vote?.stats?.successRate).toBeGreaterThan(0.7);
    expect(vote?.stats?.successRate).toBeLessThan(0.8);
    expect(vote?.stats?.latencyMs.p99).toBeGreaterThan(5);
    expect(find(rows, 'web-svc', 'POST /api/unused')?.stats).toBeNull();
    expect(find(rows, 'web-svc', '[DEFAULT]')?.stats?.successRate).toBe(1);
    const webApi = find(rows, 'web-http', 'web-api');
    expect(webApi?.stats?.successRate).toBeGreaterThan(0.4);
    expect(webApi?.stats?.successRate).toBeLessThan(0.6);
    expect(webApi?.actual).toBeNull();
  });

  it('with to, lists the outbound profile routes towards the Services of a workload, effective and actual (retries)', async () => {
    const rows = await routes('resource=deploy/vote-bot&to=deploy/web');
    expect(rows.map((r) => r.route)).toEqual(['GET /api/list', 'GET /api/vote', 'POST /api/unused', '[DEFAULT]']);
    const vote = find(rows, 'web-svc', 'GET /api/vote');
    expect(vote?.stats?.successRate).toBeGreaterThan(0.75);
    expect(vote?.stats?.successRate).toBeLessThan(0.85);
    expect(vote?.actual?.successRate).toBeGreaterThan(0.45);
    expect(vote?.actual?.successRate).toBeLessThan(0.55);
    expect(vote?.actual?.rps).toBeGreaterThan(vote?.stats?.rps ?? Infinity);
    expect(vote?.stats?.latencyMs.p50).toBeGreaterThan(20);
    expect(vote?.stats?.latencyMs.p50).toBeLessThanOrEqual(30);
    expect(find(rows, 'web-svc', 'GET /api/list')?.stats).toBeNull();
  });

  it('with to, lists HTTPRoute and GRPCRoute routes of a Service (5xx, errors and failing gRPC statuses are failures; latency in ms)', async () => {
    const voting = await routes('resource=deploy/web&to=svc/voting-svc');
    expect(voting.map((r) => `${r.route} ${r.kind}`)).toEqual(['vote-route HTTPRoute', '[DEFAULT] default']);
    const vote = find(voting, 'voting-svc', 'vote-route');
    expect(vote?.stats?.successRate).toBeGreaterThan(0.55);
    expect(vote?.stats?.successRate).toBeLessThan(0.65);
    expect(vote?.stats?.latencyMs.p50).toBeGreaterThan(100);
    expect(vote?.stats?.latencyMs.p50).toBeLessThanOrEqual(250);
    expect(find(voting, 'voting-svc', '[DEFAULT]')?.stats?.successRate).toBe(1);
    const emoji = await routes('resource=deploy/web&to=deploy/emoji');
    expect(emoji.map((r) => `${r.parent.name} ${r.route} ${r.kind}`)).toEqual(['emoji-svc emoji-list GRPCRoute']);
    // NOT_FOUND is a success under Linkerd's default gRPC classification; UNAVAILABLE is not.
    expect(emoji[0]?.stats?.successRate).toBeGreaterThan(0.75);
    expect(emoji[0]?.stats?.successRate).toBeLessThan(0.85);
    expect(emoji[0]?.stats?.latencyMs.p50).toBeNull();
  });

  it('answers 400 and 404 naming the problem', async () => {
    expect((await get(`/api/v1/routes?namespace=${ns}&resource=deploy`)).body.error?.message).toBe('routes are of one object: expected TYPE/NAME (e.g. deploy/web), got "deploy"');
    expect((await get('/api/v1/routes?resource=deploy/web')).body.error?.message).toBe('parameter "namespace" is required');
    expect(await get(`/api/v1/routes?namespace=${ns}&resource=deploy/nope`)).toMatchObject({ status: 404, body: { error: { code: 'TRELLIS_ERR_NOT_FOUND', message: `deployment ${ns}/nope not found` } } });
    expect(await get(`/api/v1/routes?namespace=${ns}&resource=ns/${ns}`)).toMatchObject({ status: 400 });
    await kubectl(['apply', '-f', '-'], JSON.stringify(deployment('lonely')));
    expect(await get(`/api/v1/routes?namespace=${ns}&resource=deploy/web&to=deploy/lonely`)).toMatchObject({
      status: 404,
      body: { error: { message: `no Service in namespace ${ns} selects the pods of deployment lonely: routes are per Service` } },
    });
  });
});
