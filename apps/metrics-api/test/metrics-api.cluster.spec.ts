// The metrics API against a real kube-apiserver (objects and pod counts) and a real Prometheus. The shared test
// cluster runs no pods, so Prometheus holds no proxy series here: these tests cover the Kubernetes side, the
// request parameters and Prometheus being away. Stats from real proxies carrying real traffic are the end-to-end
// test's (tools/e2e, on the demo).
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadKubeConfig } from '@trellis/k8s';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { parseCommandLine } from '@trellis/config';
import { metricsApiConfig, METRICS_API_SPEC } from '../src/config.ts';
import { startMetricsApi, type RunningMetricsApi } from '../src/metrics-api.ts';
import { startPrometheus, type RunningPrometheus } from './prometheus.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const ns = `trellis-mapi-${randomBytes(3).toString('hex')}`;

function kubectl(args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    child.stdin?.end(stdin);
  });
}

/** A Deployment whose pods carry what the injector adds to meshed pods (the control-plane namespace label). */
const deployment = (name: string, replicas: number, meshed: boolean) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...(meshed ? { 'linkerd.io/control-plane-ns': 'trellis', 'linkerd.io/proxy-deployment': name } : {}) } },
        spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }] },
      },
    },
  });

function config(prometheusUrl: string) {
  const cli = parseCommandLine(METRICS_API_SPEC, ['--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--prometheus-url', prometheusUrl, '--prometheus-timeout', '2s', '--log-level', 'fatal']);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  return metricsApiConfig(cli);
}

async function start(prometheusUrl: string): Promise<RunningMetricsApi> {
  return startMetricsApi(config(prometheusUrl), { log: createLogger({ name: 'test', level: 'fatal', format: 'json' }), registry: createRegistry(), kubeConfig: loadKubeConfig({ kubeconfig }) });
}

const get = async (api: RunningMetricsApi, path: string) => {
  const res = await fetch(`http://127.0.0.1:${api.api.port}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

let prometheus: RunningPrometheus;
let api: RunningMetricsApi;

beforeAll(async () => {
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['apply', '-f', '-'], deployment('web', 2, true));
  await kubectl(['apply', '-f', '-'], deployment('db', 1, false));
  prometheus = await startPrometheus('global: {scrape_interval: 1s}\nscrape_configs:\n- job_name: prometheus\n  static_configs: [{targets: ["127.0.0.1:1"]}]\n');
  api = await start(prometheus.url);
  // Pods come from the controller-manager's ReplicaSets.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const n = (JSON.parse(await kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])) as { items: unknown[] }).items.length;
    if (n === 3) break;
    if (Date.now() > deadline) throw new Error(`expected 3 pods in ${ns}, have ${n}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 16 * 60_000);

afterAll(async () => {
  await api?.close();
  await prometheus?.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
});

describe('GET /api/v1/stat', () => {
  it('lists each Deployment with its pods and meshed pods counted, and no stats without traffic', async () => {
    const r = await get(api, `/api/v1/stat?resource=deploy&namespace=${ns}&window=30s`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      window: '30s',
      rows: [
        { resource: { type: 'deployment', namespace: ns, name: 'db' }, pods: { running: 1, meshed: 0, failed: 0 }, stats: null, tcp: null },
        { resource: { type: 'deployment', namespace: ns, name: 'web' }, pods: { running: 2, meshed: 2, failed: 0 }, stats: null, tcp: null },
      ],
    });
  });

  it('counts a namespace\'s pods, one pod by name, and every type with "all"', async () => {
    expect((await get(api, `/api/v1/stat?resource=ns/${ns}`)).body['rows']).toEqual([{ resource: { type: 'namespace', namespace: ns, name: ns }, pods: { running: 3, meshed: 2, failed: 0 }, stats: null, tcp: null }]);
    const pods = (await get(api, `/api/v1/stat?resource=po&namespace=${ns}`)).body['rows'] as { pods: { meshed: number } }[];
    expect(pods.map((p) => p.pods.meshed).sort()).toEqual([0, 1, 1]);
    const all = (await get(api, `/api/v1/stat?resource=all&namespace=${ns}`)).body['rows'] as { resource: { type: string } }[];
    expect(all.map((r) => r.resource.type)).toEqual(['deployment', 'deployment', 'pod', 'pod', 'pod']);
  });

  it('answers 404 for an object that does not exist and 400 for bad parameters, naming them', async () => {
    expect(await get(api, `/api/v1/stat?resource=deploy/nope&namespace=${ns}`)).toEqual({ status: 404, body: { error: { code: 'TRELLIS_ERR_NOT_FOUND', message: `deployment ${ns}/nope not found` } } });
    expect(await get(api, '/api/v1/stat')).toEqual({ status: 400, body: { error: { code: 'TRELLIS_ERR_BAD_REQUEST', message: 'parameter "resource" is required (e.g. deploy, deploy/web, all)' } } });
    expect((await get(api, '/api/v1/stat?resource=deploy&window=5')).body).toEqual({ error: { code: 'TRELLIS_ERR_BAD_REQUEST', message: 'invalid window "5": expected a duration such as 30s, 1m or 1h' } });
    expect((await get(api, '/api/v1/stat?resource=deploy&namespace=Bad_NS')).status).toBe(400);
    expect((await get(api, `/api/v1/stat?resource=deploy&namespace=${ns}&labelSelector=app%20in%20(`)).status).toBe(400);
    expect((await get(api, '/api/v1/stat?resource=deploy&to=svc/a&from=deploy/b')).body).toEqual({ error: { code: 'TRELLIS_ERR_BAD_REQUEST', message: '"to" and "from" cannot be combined' } });
    expect((await get(api, '/api/v1/edges?resource=svc')).status).toBe(400);
    expect((await get(api, '/api/v1/nothing')).status).toBe(404);
  });

  it('filters objects by label selector', async () => {
    const rows = (await get(api, `/api/v1/stat?resource=po&namespace=${ns}&labelSelector=app%3Ddb`)).body['rows'] as unknown[];
    expect(rows).toHaveLength(1);
  });
});

describe('Prometheus away', () => {
  it('answers 503 naming the Prometheus URL and why, for stats and edges', async () => {
    // A port nothing listens on: one a listener just gave back.
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const away = await start(`http://127.0.0.1:${port}`);
    try {
      const stat = await get(away, `/api/v1/stat?resource=deploy&namespace=${ns}`);
      expect(stat.status).toBe(503);
      expect(stat.body).toEqual({ error: { code: 'TRELLIS_ERR_PROMETHEUS_UNREACHABLE', message: `Prometheus at http://127.0.0.1:${port} is unreachable: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})` } });
      const edges = await get(away, `/api/v1/edges?resource=deploy&namespace=${ns}`);
      expect(edges.status).toBe(503);
      expect((edges.body['error'] as { message: string }).message).toContain(`Prometheus at http://127.0.0.1:${port} is unreachable`);
    } finally {
      await away.close();
    }
  });

  it('answers 502 when the URL answers but not with Prometheus\' API (a wrong path)', async () => {
    const wrong = await start(`${prometheus.url}/prom`);
    try {
      const r = await get(wrong, `/api/v1/stat?resource=deploy&namespace=${ns}`);
      expect(r.status).toBe(502);
      expect(r.body).toEqual({ error: { code: 'TRELLIS_ERR_PROMETHEUS_QUERY', message: `Prometheus at ${prometheus.url}/prom failed the query: HTTP 404 with a body that is not JSON: 404 page not found` } });
    } finally {
      await wrong.close();
    }
  });
});
