// The viz chart as an operator meets it: lint, golden renders, the HA and external-Prometheus values, schema
// errors, and that its scrape configuration is Linkerd viz's (the same relabelling for the bundled Prometheus and
// the PodMonitor). helm is the pinned binary from tools/bin.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VERSION } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHARTS, REPO_ROOT, lint, render, template } from '../src/helm.ts';
import { find, names, ofKind, parseManifests, podTemplate, type KubeObject } from '../src/manifests.ts';
import { dashboardFiles } from '../src/dashboard-files.ts';
import { DASHBOARDS, panelQueries } from '../src/dashboards.ts';
import { GOLDEN_DIR } from './golden.ts';
import { VIZ_CASES, VIZ_HA, VIZ_NAMESPACE } from './viz-cases.ts';

const objects = async (opts: Parameters<typeof render>[1]) => parseManifests(await render(CHARTS.viz, { namespace: VIZ_NAMESPACE, ...opts }));
const container = (d: KubeObject) => ((podTemplate(d)['spec'] as { containers: { name: string; image: string; args: string[]; resources?: unknown }[] }).containers[0] as { name: string; image: string; args: string[]; resources?: unknown });
type ScrapeJob = { job_name: string; relabel_configs?: Record<string, unknown>[]; kubernetes_sd_configs?: Record<string, unknown>[] };
const scrapeConfig = (objs: KubeObject[]) => parse((find(objs, 'ConfigMap', 'prometheus-config')['data'] as Record<string, string>)['prometheus.yml'] as string) as { global: Record<string, string>; scrape_configs: ScrapeJob[] };

describe('trellis-viz: helm lint --strict', () => {
  it.each(VIZ_CASES.map((c) => [c.name, c] as const))('passes for %s', async (_name, c) => {
    const r = await lint(CHARTS.viz, c.opts);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('trellis-viz: golden renders', () => {
  it.each(VIZ_CASES.map((c) => [c.name, c] as const))('%s matches its golden file', async (name, c) => {
    const out = await render(CHARTS.viz, c.opts);
    const file = join(GOLDEN_DIR, `${name}.yaml`);
    if (process.env['UPDATE_GOLDEN'] === '1') await writeFile(file, out);
    const golden = await readFile(file, 'utf8').catch(() => '');
    expect(out, `${file} differs (UPDATE_GOLDEN=1 refreshes it after review)`).toBe(golden);
  });
});

describe('trellis-viz: the default install', () => {
  it('runs Prometheus, the metrics API, the dashboard and the tap API, each its own Deployment, ServiceAccount and meshed pod', async () => {
    const objs = await objects({});
    const deployments = ofKind(objs, 'Deployment');
    expect(names(deployments)).toEqual(['Deployment/metrics-api', 'Deployment/prometheus', 'Deployment/tap', 'Deployment/web']);
    for (const d of deployments) {
      const t = podTemplate(d) as { metadata: { annotations: Record<string, string> }; spec: { serviceAccountName: string } };
      expect(t.metadata.annotations['linkerd.io/inject'], d.metadata.name).toBe('enabled');
      expect(t.spec.serviceAccountName).toBe(d.metadata.name);
      find(objs, 'ServiceAccount', d.metadata.name);
    }
    expect(find(objs, 'Namespace', VIZ_NAMESPACE).metadata['annotations']).toEqual({ 'linkerd.io/inject': 'enabled' });
  });

  it('registers the tap API as the tap.linkerd.io/v1alpha1 APIService, trusted by the certificate it serves with', async () => {
    const objs = await objects({});
    const api = find(objs, 'APIService', 'v1alpha1.tap.linkerd.io') as unknown as { spec: { service: unknown; caBundle: string } };
    const secret = find(objs, 'Secret', 'tap-k8s-tls') as unknown as { data: Record<string, string> };
    expect(api.spec.service).toEqual({ name: 'tap', namespace: VIZ_NAMESPACE, port: 443 });
    expect(api.spec.caBundle).toBe(secret.data['tls.crt']);
    expect(Buffer.from(api.spec.caBundle, 'base64').toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const admin = find(objs, 'ClusterRole', `trellis-${VIZ_NAMESPACE}-tap-admin`) as unknown as { rules: unknown };
    expect(admin.rules).toEqual([{ apiGroups: ['tap.linkerd.io'], resources: ['*'], verbs: ['watch'] }]);
    expect(container(find(objs, 'Deployment', 'tap')).image).toBe(`trellis/tap:${VERSION}`);
    expect(names(ofKind(await objects({ set: { 'tap.enabled': 'false' } }), 'Deployment'))).not.toContain('Deployment/tap');
  });

  it("admits to the tap API's port only the API server's aggregation layer: no mesh identity, over TLS, from tap.allowedNetworks", async () => {
    const objs = await objects({});
    const tap = find(objs, 'Deployment', 'tap');
    const ports = (podTemplate(tap)['spec'] as { containers: { ports: { name: string; containerPort: number }[] }[] }).containers[0]?.ports;
    expect(ports).toContainEqual({ name: 'apiserver', containerPort: 8089 });
    expect(find(objs, 'Service', 'tap')['spec']).toMatchObject({ ports: [{ name: 'apiserver', port: 443, targetPort: 8089 }] });
    expect(find(objs, 'Server', 'tap-api')['spec']).toEqual({ podSelector: { matchLabels: { 'linkerd.io/extension': 'viz', component: 'tap' } }, port: 'apiserver', proxyProtocol: 'TLS' });
    expect(find(objs, 'AuthorizationPolicy', 'tap')['spec']).toEqual({
      targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'tap-api' },
      requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'NetworkAuthentication', name: 'kube-api-server' }],
    });
    // Linkerd's clusterNetworks: where the API server's in-cluster address is; nothing from outside them.
    const networks = (find(objs, 'NetworkAuthentication', 'kube-api-server')['spec'] as { networks: { cidr: string }[] }).networks.map((n) => n.cidr);
    expect(networks).toEqual(['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8']);
    // Every authorization of the tap pod's two API-server ports names this authentication, and no other.
    const tapPolicies = ofKind(objs, 'AuthorizationPolicy').filter((p) => ['tap-api', 'tap-injector-webhook'].includes((p['spec'] as { targetRef: { name: string } }).targetRef.name));
    expect(names(tapPolicies)).toEqual(['AuthorizationPolicy/tap', 'AuthorizationPolicy/tap-injector']);

    const narrowed = await objects({ set: { 'tap.allowedNetworks[0]': '10.96.0.1/32' } });
    expect((find(narrowed, 'NetworkAuthentication', 'kube-api-server')['spec'] as { networks: unknown }).networks).toEqual([{ cidr: '10.96.0.1/32' }]);
    // No networks: the Servers stay and admit no one (a Server without an authorization denies everything).
    const closed = await objects({ set: { 'tap.allowedNetworks': 'null' } });
    expect(names(closed).filter((n) => /tap|kube-api-server/.test(n) && /Server|Authorization|Authentication/.test(n))).toEqual(['Server/tap-api', 'Server/tap-injector-webhook']);
    const off = await objects({ set: { 'tap.enabled': 'false' } });
    expect(names(off).filter((n) => /tap|kube-api-server/.test(n))).toEqual([]);
  });

  it("runs the tap injector in the tap API's pod, called after the control plane's injector and trusted by its own certificate", async () => {
    const objs = await objects({});
    const config = find(objs, 'MutatingWebhookConfiguration', 'trellis-tap-injector-webhook-config');
    // The API server calls mutating webhooks in the order of their configurations' names.
    expect(['trellis-proxy-injector-webhook-config', config.metadata.name].sort()).toEqual(['trellis-proxy-injector-webhook-config', 'trellis-tap-injector-webhook-config']);
    const [hook] = config['webhooks'] as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any -- a rendered object
    expect(hook).toMatchObject({
      clientConfig: { service: { name: 'tap-injector', namespace: VIZ_NAMESPACE, path: '/' } },
      failurePolicy: 'Ignore',
      reinvocationPolicy: 'IfNeeded',
      sideEffects: 'None',
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    });
    expect(hook?.['namespaceSelector'].matchExpressions).toEqual([
      { key: 'config.linkerd.io/admission-webhooks', operator: 'NotIn', values: ['disabled'] },
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] },
    ]);
    const secret = find(objs, 'Secret', 'tap-injector-k8s-tls') as unknown as { data: Record<string, string> };
    expect(hook?.['clientConfig'].caBundle).toBe(secret.data['tls.crt']);
    expect(find(objs, 'Service', 'tap-injector')['spec']).toMatchObject({ ports: [{ name: 'tap-injector', port: 443, targetPort: 'tap-injector' }] });
    const tap = container(find(objs, 'Deployment', 'tap'));
    expect(tap.args).toEqual(expect.arrayContaining(['--injector-addr=:8443', `--tap-service-name=tap.${VIZ_NAMESPACE}.serviceaccount.identity.$(_l5d_ns).$(_l5d_trustdomain)`]));
    // The API server reaches the webhook port through the tap pod's proxy, over TLS, from the cluster's networks.
    expect(find(objs, 'Server', 'tap-injector-webhook')['spec']).toEqual({ podSelector: { matchLabels: { 'linkerd.io/extension': 'viz', component: 'tap' } }, port: 'tap-injector', proxyProtocol: 'TLS' });
    expect(find(objs, 'AuthorizationPolicy', 'tap-injector')['spec']).toMatchObject({ targetRef: { kind: 'Server', name: 'tap-injector-webhook' }, requiredAuthenticationRefs: [{ kind: 'NetworkAuthentication', name: 'kube-api-server' }] });

    // With failurePolicy Fail, its own namespace is left out: a tap pod must be creatable while none serves.
    const fail = find(await objects({ set: { 'tapInjector.failurePolicy': 'Fail' } }), 'MutatingWebhookConfiguration', 'trellis-tap-injector-webhook-config');
    expect((fail['webhooks'] as { namespaceSelector: { matchExpressions: unknown[] } }[])[0]?.namespaceSelector.matchExpressions.at(-1)).toEqual({ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [VIZ_NAMESPACE] });

    const off = await objects({ set: { 'tapInjector.enabled': 'false' } });
    expect(ofKind(off, 'MutatingWebhookConfiguration')).toEqual([]);
    expect(names(off).filter((n) => n.includes('tap-injector'))).toEqual([]);
    expect(container(find(off, 'Deployment', 'tap')).args.filter((a) => a.startsWith('--injector') || a.startsWith('--tap-service-name'))).toEqual([]);
  });

  it('gives Prometheus a short retention, a size cap and a memory limit, and keeps its image at the pinned Prometheus release', async () => {
    const prom = container(find(await objects({}), 'Deployment', 'prometheus'));
    const pinned = /^PROMETHEUS_VERSION=(\S+)$/m.exec(await readFile(join(REPO_ROOT, 'tools/bin/versions.env'), 'utf8'))?.[1];
    expect(prom.image).toBe(`prom/prometheus:v${pinned}`);
    expect(prom.args).toEqual(expect.arrayContaining(['--storage.tsdb.retention.time=6h', '--storage.tsdb.retention.size=1GB']));
    expect(prom.resources).toEqual({ limits: { memory: '1Gi' }, requests: { cpu: '300m', memory: '300Mi' } });
  });

  it('points the metrics API at the bundled Prometheus, with the release version as its image tag', async () => {
    const api = container(find(await objects({}), 'Deployment', 'metrics-api'));
    expect(api.image).toBe(`trellis/metrics-api:${VERSION}`);
    expect(api.args).toContain(`--prometheus-url=http://prometheus.${VIZ_NAMESPACE}.svc.cluster.local:9090`);
    expect(api.args).toContain('--controller-namespace=trellis');
    const meta = parse(await readFile(join(CHARTS.viz, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
    expect([meta.version, meta.appVersion]).toEqual([VERSION, VERSION]);
  });

  it("scrapes the proxies and the control plane with Linkerd viz's jobs and relabelling", async () => {
    const config = scrapeConfig(await objects({ set: { 'prometheus.scrapeInterval': '5s', 'prometheus.scrapeTimeout': '4s' } }));
    expect(config.global).toEqual({ scrape_interval: '5s', scrape_timeout: '4s' });
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual(['prometheus', 'linkerd-controller', 'linkerd-proxy']);
    const proxy = config.scrape_configs[2] as ScrapeJob;
    expect(proxy.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    expect(proxy.relabel_configs?.[1]).toEqual({
      source_labels: ['__meta_kubernetes_pod_container_name', '__meta_kubernetes_pod_container_port_name', '__meta_kubernetes_pod_label_linkerd_io_control_plane_ns'],
      action: 'keep',
      regex: '^linkerd-proxy;linkerd-admin;trellis$',
    });
    expect(proxy.relabel_configs).toContainEqual({ source_labels: ['__meta_kubernetes_pod_label_linkerd_io_proxy_job'], action: 'replace', target_label: 'k8s_job' });
    expect(proxy.relabel_configs).toContainEqual({ action: 'labelmap', regex: '__meta_kubernetes_pod_label_linkerd_io_proxy_(.+)' });
    const controllers = config.scrape_configs[1] as ScrapeJob;
    expect(controllers.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['trellis', VIZ_NAMESPACE] } }]);
  });

  it("points the dashboard at the metrics API and Prometheus on Linkerd's web port, with Grafana links only when a URL is given", async () => {
    const web = container(find(await objects({}), 'Deployment', 'web'));
    expect(web.image).toBe(`trellis/web:${VERSION}`);
    expect(web.args).toEqual([
      '--addr=:8084',
      '--admin-addr=:9994',
      `--metrics-api-url=http://metrics-api.${VIZ_NAMESPACE}.svc.cluster.local:8085`,
      `--prometheus-url=http://prometheus.${VIZ_NAMESPACE}.svc.cluster.local:9090`,
      '--log-level=info',
      '--log-format=plain',
    ]);
    const linked = container(find(await objects({ set: { 'grafana.externalUrl': 'https://grafana.example.com' } }), 'Deployment', 'web'));
    expect(linked.args).toContain('--grafana-url=https://grafana.example.com');
    expect(find(await objects({}), 'Service', 'web')['spec']).toMatchObject({ ports: [{ name: 'http', port: 8084, targetPort: 8084 }, { name: 'admin-http', port: 9994, targetPort: 9994 }] });
  });

  it('leaves the dashboard out with dashboard.enabled=false, and Prometheus then admits the metrics API alone', async () => {
    const objs = await objects({ set: { 'dashboard.enabled': 'false' } });
    expect(names(objs).filter((n) => /\/web/.test(n))).toEqual([]);
    expect(find(objs, 'MeshTLSAuthentication', 'prometheus-clients')['spec']).toEqual({ identityRefs: [{ kind: 'ServiceAccount', name: 'metrics-api' }] });
  });

  it('lets only the allowed identities and the cluster\'s networks (the API server\'s service proxy) call the metrics API, and only the metrics API and the dashboard query Prometheus', async () => {
    const objs = await objects({});
    expect(find(objs, 'Server', 'metrics-api')['spec']).toEqual({ podSelector: { matchLabels: { 'linkerd.io/extension': 'viz', component: 'metrics-api' } }, port: 'http', proxyProtocol: 'HTTP/1' });
    expect(find(objs, 'MeshTLSAuthentication', 'metrics-api-clients')['spec']).toEqual({ identityRefs: [{ kind: 'ServiceAccount', name: 'web' }] });
    expect(find(objs, 'Server', 'prometheus-admin')['spec']).toMatchObject({ port: 'admin' });
    expect(find(objs, 'MeshTLSAuthentication', 'prometheus-clients')['spec']).toEqual({ identityRefs: [{ kind: 'ServiceAccount', name: 'metrics-api' }, { kind: 'ServiceAccount', name: 'web' }] });
    expect(find(objs, 'Server', 'web')['spec']).toEqual({ podSelector: { matchLabels: { 'linkerd.io/extension': 'viz', component: 'web' } }, port: 'http', proxyProtocol: 'HTTP/1' });
    expect(find(objs, 'NetworkAuthentication', 'web-networks')['spec']).toEqual({ networks: [{ cidr: '0.0.0.0/0' }, { cidr: '::/0' }] });
    // Linkerd's clusterNetworks: where the API server's service proxy connects from, so `viz stat` works after install.
    expect(find(objs, 'NetworkAuthentication', 'metrics-api-networks')['spec']).toEqual({
      networks: ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'].map((cidr) => ({ cidr })),
    });
    expect(find(objs, 'ClusterRoleBinding', 'trellis-trellis-viz-web-tap-admin')).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'trellis-trellis-viz-tap-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'trellis-viz' }],
    });
    const authz = ofKind(objs, 'AuthorizationPolicy').map((a) => `${(a['spec'] as { targetRef: { name: string } }).targetRef.name} <- ${(a['spec'] as { requiredAuthenticationRefs: { kind: string; name: string }[] }).requiredAuthenticationRefs.map((r) => `${r.kind}/${r.name}`).join(',')}`);
    expect(authz.sort()).toEqual([
      'metrics-api <- MeshTLSAuthentication/metrics-api-clients',
      'metrics-api <- NetworkAuthentication/metrics-api-networks',
      'metrics-api-admin <- NetworkAuthentication/all-networks',
      'prometheus-admin <- MeshTLSAuthentication/prometheus-clients',
      'tap-api <- NetworkAuthentication/kube-api-server',
      'tap-injector-webhook <- NetworkAuthentication/kube-api-server',
      'web <- NetworkAuthentication/web-networks',
      'web-admin <- NetworkAuthentication/all-networks',
    ]);
    expect(ofKind(objs, 'PodMonitor')).toEqual([]);
    // Without networks (null removes the default list), mesh identities only.
    expect(names(await objects({ set: { 'metricsAPI.allowedNetworks': 'null' } })).filter((n) => n.includes('metrics-api-networks'))).toEqual([]);
  });
});

describe('trellis-viz: values-ha.yaml', () => {
  it('runs three metrics API and dashboard replicas spread over nodes with PodDisruptionBudgets; Prometheus stays one', async () => {
    const objs = await objects({ values: [VIZ_HA] });
    const api = find(objs, 'Deployment', 'metrics-api');
    expect((api['spec'] as { replicas: number }).replicas).toBe(3);
    expect((podTemplate(api)['spec'] as { affinity: unknown }).affinity).toEqual({
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'linkerd.io/extension': 'viz', component: 'metrics-api' } }, topologyKey: 'kubernetes.io/hostname' }] },
    });
    expect(find(objs, 'PodDisruptionBudget', 'metrics-api')['spec']).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'linkerd.io/extension': 'viz', component: 'metrics-api' } } });
    expect((find(objs, 'Deployment', 'web')['spec'] as { replicas: number }).replicas).toBe(3);
    expect(find(objs, 'PodDisruptionBudget', 'web')['spec']).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'linkerd.io/extension': 'viz', component: 'web' } } });
    expect((find(objs, 'Deployment', 'prometheus')['spec'] as { replicas: number }).replicas).toBe(1);
  });
});

describe('trellis-viz: an existing Prometheus', () => {
  it('installs no Prometheus and points the metrics API at the given URL; the PodMonitor carries the same relabelling', async () => {
    const c = VIZ_CASES.find((x) => x.name === 'viz-external-prometheus');
    const objs = await objects(c?.opts ?? {});
    expect(names(objs).filter((n) => /prometheus/i.test(n))).toEqual([]);
    expect(container(find(objs, 'Deployment', 'metrics-api')).args).toContain('--prometheus-url=http://prometheus.monitoring.svc.cluster.local:9090');
    expect(container(find(objs, 'Deployment', 'web')).args).toContain('--prometheus-url=http://prometheus.monitoring.svc.cluster.local:9090');
    const monitor = find(objs, 'PodMonitor', 'trellis-proxies')['spec'] as { selector: unknown; podMetricsEndpoints: { port: string; relabelings: Record<string, unknown>[] }[] };
    expect(monitor.selector).toEqual({ matchLabels: { 'linkerd.io/control-plane-ns': 'trellis' } });
    const bundled = (scrapeConfig(await objects({})).scrape_configs[2] as ScrapeJob).relabel_configs ?? [];
    const camel = bundled.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k === 'source_labels' ? 'sourceLabels' : k === 'target_label' ? 'targetLabel' : k, v])));
    expect(monitor.podMetricsEndpoints[0]?.relabelings).toEqual(camel);
    expect(find(objs, 'NetworkAuthentication', 'metrics-api-networks')['spec']).toEqual({ networks: [{ cidr: '10.96.0.1/32' }] });
  });
});

describe('trellis-viz: values.schema.json', () => {
  it('rejects a misspelled key, naming it and where it is', async () => {
    const r = await template(CHARTS.viz, { namespace: VIZ_NAMESPACE, set: { 'metricsAPI.replica': '2' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("at '/metricsAPI': additional properties 'replica' not allowed");
  });

  it('rejects a Grafana URL that is not http(s)', async () => {
    const r = await template(CHARTS.viz, { namespace: VIZ_NAMESPACE, set: { 'grafana.externalUrl': 'grafana.example.com' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("at '/grafana/externalUrl'");
  });

  it('rejects a retention that is not a Prometheus duration, and a URL that is not http(s)', async () => {
    const retention = await template(CHARTS.viz, { namespace: VIZ_NAMESPACE, set: { 'prometheus.retention': '6hours' } });
    expect(retention.code).not.toBe(0);
    expect(retention.stderr).toContain("at '/prometheus/retention'");
    const url = await template(CHARTS.viz, { namespace: VIZ_NAMESPACE, set: { prometheusUrl: 'prometheus:9090' } });
    expect(url.code).not.toBe(0);
    expect(url.stderr).toContain("at '/prometheusUrl'");
  });

  it('rejects a string where a number belongs, naming the key', async () => {
    const r = await template(CHARTS.viz, { namespace: VIZ_NAMESPACE, setString: { 'metricsAPI.replicas': 'three' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\/metricsAPI\/replicas'?: got string, want integer/);
  });
});

describe('trellis-viz: Grafana dashboards', () => {
  it('are what gen-dashboards writes from src/dashboards.ts', async () => {
    for (const { path, text } of dashboardFiles()) expect(await readFile(path, 'utf8'), `${path} is stale: node tools/charts/src/gen-dashboards.ts`).toBe(text);
  });

  it('ship as one ConfigMap each, labelled for the Grafana sidecar, carrying the dashboard JSON', async () => {
    const maps = ofKind(await objects({}), 'ConfigMap').filter((m) => m.metadata.name.startsWith('grafana-dashboard-'));
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(DASHBOARDS.map((d) => `grafana-dashboard-${d.uid}`).sort());
    for (const m of maps) {
      expect((m.metadata['labels'] as Record<string, string>)['grafana_dashboard']).toBe('1');
      const [[key, json]] = Object.entries(m['data'] as Record<string, string>) as [[string, string]];
      const file = dashboardFiles().find((f) => f.path.endsWith(`/${key}`));
      expect(JSON.parse(json)).toEqual(JSON.parse(file?.text ?? 'null'));
    }
    expect(ofKind(await objects({ set: { 'grafana.dashboards': 'false' } }), 'ConfigMap').map((m) => m.metadata.name)).toEqual(['prometheus-config']);
  });

  it("query only Linkerd's proxy metric names and the controllers' own, and leave the admin port out of inbound traffic", () => {
    const known = new Set(['request_total', 'response_total', 'response_latency_ms_bucket', 'tcp_open_connections', 'tcp_read_bytes_total', 'tcp_write_bytes_total', 'route_request_total', 'route_response_total', 'route_response_latency_ms_bucket', 'process_resident_memory_bytes', 'process_cpu_seconds_total', 'issuer_cert_ttl_seconds', 'proxy_inject_admission_responses_total']);
    const queries = DASHBOARDS.flatMap(panelQueries);
    expect(queries.length).toBeGreaterThanOrEqual(40);
    for (const q of queries) {
      const metrics = [...q.expr.matchAll(/([a-z_]+)\{/g)].map((m) => m[1] as string);
      expect(metrics.filter((m) => !known.has(m)), q.panel).toEqual([]);
      if (q.expr.includes('direction="inbound"') && q.expr.includes('response_total')) expect(q.expr, q.panel).toContain('target_port!="4191"');
    }
  });
});
