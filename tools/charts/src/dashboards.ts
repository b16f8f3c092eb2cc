// The Grafana dashboards the viz chart ships (helm/trellis-viz/dashboards/*.json), written as data here so every
// panel is built the same way: Prometheus queries over the proxies' own metric names (Linkerd's, so the dashboards
// work for Linkerd users too), the proxy's admin port left out of inbound traffic as the metrics API does.
// `node tools/charts/src/gen-dashboards.ts` writes the files; the chart tests fail when they are stale.

export interface Panel {
  readonly title: string;
  readonly unit: 'percentunit' | 'reqps' | 'ms' | 'short' | 'bytes' | 's' | 'Bps';
  /** Each query's legend is the label it is grouped by (or the panel title when it has none). */
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
  readonly kind?: 'timeseries' | 'stat';
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  /** Template variables, each a label_values() query of the one before it. */
  readonly variables: readonly { readonly name: string; readonly query: string }[];
  readonly rows: readonly { readonly title: string; readonly panels: readonly Panel[] }[];
}

const W = '$__rate_interval';
/** Inbound HTTP a workload served, without the kubelet's probes and the scrapes of the proxy's admin port. */
const IN = 'direction="inbound", target_port!="4191"';
const OUT = 'direction="outbound"';

const rate = (metric: string, sel: string, by: string) => `sum(irate(${metric}{${sel}}[${W}])) by (${by})`;
const successRate = (sel: string, by: string) => `${rate('response_total', `${sel}, classification="success"`, by)} / ${rate('response_total', sel, by)}`;
const quantile = (q: string, sel: string, by: string) => `histogram_quantile(${q}, sum(irate(response_latency_ms_bucket{${sel}}[${W}])) by (le, ${by}))`;

/** The golden signals of one view: success rate, request rate, latency percentiles, grouped by `by`. */
function golden(sel: string, by: string, legend: string): Panel[] {
  return [
    { title: 'Success rate', unit: 'percentunit', queries: [{ expr: successRate(sel, by), legend }] },
    { title: 'Request rate', unit: 'reqps', queries: [{ expr: rate('request_total', sel, by), legend }] },
    {
      title: 'Latency',
      unit: 'ms',
      queries: ['0.5', '0.95', '0.99'].map((q) => ({ expr: quantile(q, sel, by), legend: `p${Number(q) * 100} ${legend}` })),
    },
  ];
}

function tcp(sel: string, by: string, legend: string): Panel[] {
  return [
    { title: 'Open TCP connections', unit: 'short', queries: [{ expr: `sum(tcp_open_connections{${sel}}) by (${by})`, legend }] },
    {
      title: 'TCP throughput',
      unit: 'Bps',
      queries: [
        { expr: rate('tcp_read_bytes_total', sel, by), legend: `read ${legend}` },
        { expr: rate('tcp_write_bytes_total', sel, by), legend: `write ${legend}` },
      ],
    },
  ];
}

const NS_VAR = { name: 'namespace', query: 'label_values(request_total, namespace)' };

export const DASHBOARDS: readonly Dashboard[] = [
  {
    uid: 'trellis-top-line',
    title: 'Trellis: top line',
    variables: [],
    rows: [
      {
        title: 'The mesh',
        panels: [
          { title: 'Global success rate', unit: 'percentunit', kind: 'stat', queries: [{ expr: `sum(irate(response_total{${IN}, classification="success"}[${W}])) / sum(irate(response_total{${IN}}[${W}]))`, legend: 'success rate' }] },
          { title: 'Global request rate', unit: 'reqps', kind: 'stat', queries: [{ expr: `sum(irate(request_total{${IN}}[${W}]))`, legend: 'requests' }] },
          { title: 'Meshed pods', unit: 'short', kind: 'stat', queries: [{ expr: 'count(count(request_total) by (namespace, pod))', legend: 'pods' }] },
        ],
      },
      { title: 'By namespace', panels: golden(IN, 'namespace', '{{namespace}}') },
    ],
  },
  {
    uid: 'trellis-namespace',
    title: 'Trellis: namespace',
    variables: [NS_VAR],
    rows: [
      { title: 'Deployments in $namespace', panels: golden(`namespace="$namespace", ${IN}`, 'deployment', '{{deployment}}') },
      { title: 'Connections', panels: tcp(`namespace="$namespace", direction="inbound", peer="src"`, 'deployment', '{{deployment}}') },
    ],
  },
  {
    uid: 'trellis-deployment',
    title: 'Trellis: deployment',
    variables: [NS_VAR, { name: 'deployment', query: 'label_values(request_total{namespace="$namespace"}, deployment)' }],
    rows: [
      { title: 'Inbound', panels: golden(`namespace="$namespace", deployment="$deployment", ${IN}`, 'deployment', 'inbound') },
      { title: 'Outbound, by destination', panels: golden(`namespace="$namespace", deployment="$deployment", ${OUT}`, 'dst_deployment', '{{dst_deployment}}') },
      { title: 'Inbound, by caller', panels: golden(`dst_namespace="$namespace", dst_deployment="$deployment", ${OUT}`, 'deployment', '{{deployment}}') },
      { title: 'Connections', panels: tcp(`namespace="$namespace", deployment="$deployment", direction="inbound", peer="src"`, 'deployment', 'inbound') },
    ],
  },
  {
    uid: 'trellis-pod',
    title: 'Trellis: pod',
    variables: [NS_VAR, { name: 'pod', query: 'label_values(request_total{namespace="$namespace"}, pod)' }],
    rows: [
      { title: 'Inbound', panels: golden(`namespace="$namespace", pod="$pod", ${IN}`, 'pod', 'inbound') },
      { title: 'Outbound, by destination pod', panels: golden(`namespace="$namespace", pod="$pod", ${OUT}`, 'dst_pod', '{{dst_pod}}') },
      { title: 'Connections', panels: tcp(`namespace="$namespace", pod="$pod", direction="inbound", peer="src"`, 'pod', 'inbound') },
    ],
  },
  {
    uid: 'trellis-authority',
    title: 'Trellis: authority',
    variables: [NS_VAR, { name: 'authority', query: 'label_values(request_total{dst_namespace="$namespace", direction="outbound"}, authority)' }],
    rows: [
      { title: 'Requests to $authority, by caller', panels: golden(`authority="$authority", ${OUT}`, 'deployment', '{{deployment}}') },
    ],
  },
  {
    uid: 'trellis-route',
    title: 'Trellis: route',
    variables: [NS_VAR, { name: 'dst', query: 'label_values(route_request_total{namespace="$namespace"}, dst)' }],
    rows: [
      {
        title: 'Routes of $dst (ServiceProfile routes)',
        panels: [
          { title: 'Success rate', unit: 'percentunit', queries: [{ expr: `sum(irate(route_response_total{dst="$dst", classification="success"}[${W}])) by (rt_route) / sum(irate(route_response_total{dst="$dst"}[${W}])) by (rt_route)`, legend: '{{rt_route}}' }] },
          { title: 'Request rate', unit: 'reqps', queries: [{ expr: rate('route_request_total', 'dst="$dst"', 'rt_route'), legend: '{{rt_route}}' }] },
          { title: 'p95 latency', unit: 'ms', queries: [{ expr: `histogram_quantile(0.95, sum(irate(route_response_latency_ms_bucket{dst="$dst"}[${W}])) by (le, rt_route))`, legend: '{{rt_route}}' }] },
        ],
      },
    ],
  },
  {
    uid: 'trellis-control-plane',
    title: 'Trellis: control plane',
    // The control plane's namespace, from the label every meshed proxy carries (linkerd.io/control-plane-ns).
    variables: [{ name: 'controlPlaneNamespace', query: 'label_values(request_total, control_plane_ns)' }],
    rows: [
      {
        title: 'Controllers',
        panels: [
          { title: 'Memory', unit: 'bytes', queries: [{ expr: 'sum(process_resident_memory_bytes{job="linkerd-controller"}) by (component)', legend: '{{component}}' }] },
          { title: 'CPU', unit: 'short', queries: [{ expr: `sum(irate(process_cpu_seconds_total{job="linkerd-controller"}[${W}])) by (component)`, legend: '{{component}}' }] },
          { title: 'Issuer certificate lifetime left', unit: 's', kind: 'stat', queries: [{ expr: 'min(issuer_cert_ttl_seconds)', legend: 'issuer' }] },
          { title: 'Injector admissions', unit: 'reqps', queries: [{ expr: `sum(irate(proxy_inject_admission_responses_total[${W}])) by (skip)`, legend: 'skip={{skip}}' }] },
        ],
      },
      {
        title: 'Requests to the control plane (from the proxies)',
        panels: golden(`namespace="$controlPlaneNamespace", ${IN}`, 'deployment', '{{deployment}}'),
      },
    ],
  },
];

/** Grafana's dashboard JSON (schema 39): a datasource variable, the template variables, rows of panels. */
export function dashboardJson(d: Dashboard): Record<string, unknown> {
  const ds = { type: 'prometheus', uid: '${datasource}' };
  let id = 1;
  let y = 0;
  const panels: Record<string, unknown>[] = [];
  for (const row of d.rows) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    const width = Math.floor(24 / row.panels.length);
    row.panels.forEach((p, i) => {
      panels.push({
        id: id++,
        type: p.kind ?? 'timeseries',
        title: p.title,
        datasource: ds,
        gridPos: { h: 8, w: width, x: i * width, y },
        fieldConfig: { defaults: { unit: p.unit, ...(p.unit === 'percentunit' ? { min: 0, max: 1 } : {}) }, overrides: [] },
        options: p.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } } : { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
        targets: p.queries.map((q, j) => ({ refId: String.fromCharCode(65 + j), datasource: ds, expr: q.expr, legendFormat: q.legend })),
      });
    });
    y += 8;
  }
  const variables = [
    { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus', hide: 0 },
    ...d.variables.map((v) => ({ name: v.name, type: 'query', datasource: ds, query: { query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' }, definition: v.query, refresh: 2, sort: 1, hide: 0 })),
  ];
  return {
    uid: d.uid,
    title: d.title,
    tags: ['trellis', 'linkerd'],
    schemaVersion: 39,
    editable: true,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: variables },
    panels,
  };
}

/** Every panel query of a dashboard, for checking them against a real Prometheus. */
export function panelQueries(d: Dashboard): { panel: string; expr: string }[] {
  return d.rows.flatMap((r) => r.panels.flatMap((p) => p.queries.map((q) => ({ panel: `${d.uid}/${r.title}/${p.title}`, expr: q.expr }))));
}
