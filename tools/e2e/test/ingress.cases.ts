// Ingress mode on the demo, for the journey to call once the demo is meshed (each function asserts what a user would
// see and returns what it printed):
//
//   await ingressReadyCase(cluster);   // an ingress controller meshed with linkerd.io/inject: ingress, an echo Service
//   await ingressHostCase(cluster);    // Host: web-svc... reaches web over mTLS, whatever address the ingress dialled
//   await ingressOverrideCase(cluster); // l5d-dst-override names the echo Service: the request goes there instead
//
// The ingress app (peers/forwarder-main.ts) sends every request to one fixed address, voting's gRPC port, as an
// ingress configured with one upstream would: only a proxy that routes by the request's name (ingress mode) gets a
// web page out of it. The unmeshed client is this host, which reaches pod addresses on the node's bridge.
import { request } from 'node:http';
import { expect } from 'vitest';
import { DEMO_NS, PROXY_CONTAINER, TRELLIS_NS } from '../src/journey.ts';
import { peerContainer } from '../src/peer-container.ts';
import { httpGet, kubectl, kubectlInput, pods, until, type Cluster, type Pod } from '../src/kube.ts';
import { parseMetrics, select, total } from '../src/prom.ts';

export const INGRESS_NS = 'ingress';
const MINUTE = 60_000;
const say = (line: string) => console.log(`[e2e] ${line}`);
const id = (sa: string, ns: string) => `${sa}.${ns}.serviceaccount.identity.${TRELLIS_NS}.cluster.local`;
const WEB_HOST = `web-svc.${DEMO_NS}.svc.cluster.local`;
const ECHO_HOST = `echo.${INGRESS_NS}.svc.cluster.local:8080`;

function manifests(): string {
  return `apiVersion: v1
kind: Namespace
metadata: {name: ${INGRESS_NS}, annotations: {linkerd.io/inject: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ingress, namespace: ${INGRESS_NS}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress, namespace: ${INGRESS_NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ingress}}
  template:
    metadata: {labels: {app: ingress}, annotations: {linkerd.io/inject: ingress}}
    spec:
      serviceAccountName: ingress
      containers:
      - {name: app, ${peerContainer('forwarder-main.ts')}, env: [{name: FORWARD_TO, value: "voting-svc.${DEMO_NS}.svc.cluster.local:8080"}],
         ports: [{name: http, containerPort: 8080}], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: echo, namespace: ${INGRESS_NS}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: ${INGRESS_NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      serviceAccountName: echo
      containers:
      - {name: app, ${peerContainer('server-main.ts')}, ports: [{name: http, containerPort: 8080}],
         readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 2}}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: ${INGRESS_NS}}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 8080}]
`;
}

/** GET through the ingress pod from this host, with the given headers. */
function viaIngress(ingress: Pod, path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ingress.status.podIP, port: 8080, path, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the ingress pod within 10 s for ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

async function onePod(cluster: Cluster, ns: string, app: string): Promise<Pod> {
  const [p] = (await pods(cluster, ns, `app=${app}`)).filter((x) => !x.metadata.deletionTimestamp);
  if (!p) throw new Error(`no ${app} pod in ${ns}`);
  return p;
}

const proxyMetrics = async (p: Pod) => parseMetrics((await httpGet(`http://${p.status.podIP}:4191/metrics`)).text);

/** The ingress and echo workloads Ready, each with its proxy; the ingress proxy told it runs in ingress mode. */
export async function ingressReadyCase(cluster: Cluster): Promise<Pod> {
  await kubectlInput(cluster, manifests(), 'apply', '-f', '-');
  const ready = (p: Pod) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  await until(cluster, `ingress and echo pods Ready in ${INGRESS_NS}`, async () => {
    const all = (await pods(cluster, INGRESS_NS)).filter((p) => !p.metadata.deletionTimestamp);
    return all.length === 2 && all.every(ready);
  }, 3 * MINUTE);
  const ingress = await onePod(cluster, INGRESS_NS, 'ingress');
  const proxy = [...(ingress.spec.initContainers ?? []), ...ingress.spec.containers].find((c) => c.name === PROXY_CONTAINER);
  expect(proxy?.env?.find((e) => e.name === 'LINKERD2_PROXY_INGRESS_MODE')?.value, 'the injector rendered no ingress mode for linkerd.io/inject: ingress').toBe('true');
  return ingress;
}

/** Host: web-svc... through the ingress reaches web, over mTLS with web's identity, not the address it dialled. */
export async function ingressHostCase(cluster: Cluster): Promise<string> {
  const ingress = await onePod(cluster, INGRESS_NS, 'ingress');
  const r = await until(cluster, `GET /api/list with Host: ${WEB_HOST} through the ingress answered 200 by web`, async () => {
    const res = await viaIngress(ingress, '/api/list', { host: WEB_HOST }).catch(() => undefined);
    return res?.status === 200 && res;
  }, MINUTE);
  const list = JSON.parse(r.text) as { shortcode: string }[];
  expect(list.length, 'web answers /api/list with the emoji list').toBeGreaterThan(10);
  expect(list[0]).toHaveProperty('shortcode');
  const out = select(await proxyMetrics(ingress), 'request_total', { direction: 'outbound', tls: 'true', server_id: id('web', DEMO_NS) });
  expect(out.length, 'the ingress proxy counted no mTLS request to web').toBeGreaterThan(0);
  expect(out[0]?.labels['dst_service'], 'the request went to web-svc, the name in its Host').toBe('web-svc');
  expect(out[0]?.labels['authority'], 'counted under the name it was routed by').toBe(`${WEB_HOST}:80`);
  const toVoting = total(await proxyMetrics(ingress), 'request_total', { direction: 'outbound', server_id: id('voting', DEMO_NS) });
  expect(toVoting, 'a request went to the address the ingress dialled (voting) instead of the name').toBe(0);
  const line = `ingress -> ${WEB_HOST}: HTTP ${r.status}, ${list.length} emojis; ingress proxy: ${out.map((s) => s.line).join('\n')}`;
  say(line);
  return line;
}

/** l5d-dst-override names the echo Service: the request goes there (Host unchanged, the override header removed). */
export async function ingressOverrideCase(cluster: Cluster): Promise<string> {
  const ingress = await onePod(cluster, INGRESS_NS, 'ingress');
  const r = await viaIngress(ingress, '/ingress', { host: WEB_HOST, 'l5d-dst-override': ECHO_HOST });
  say(`ingress with l5d-dst-override: ${ECHO_HOST}: HTTP ${r.status}; the head echo received:\n${r.text.trim()}`);
  expect(r.status).toBe(200);
  const head = r.text.toLowerCase();
  expect(head).toMatch(/^get \/ingress http\/1\.1\r\n/);
  expect(head, 'the app got the request with the ingress identity in l5d-client-id (mTLS)').toContain(`l5d-client-id: ${id('ingress', INGRESS_NS)}`);
  expect(head, 'the override header travels no further than the ingress proxy').not.toContain('l5d-dst-override');
  const out = select(await proxyMetrics(ingress), 'request_total', { direction: 'outbound', tls: 'true', server_id: id('echo', INGRESS_NS) });
  expect(out.length, 'the ingress proxy counted no mTLS request to echo').toBeGreaterThan(0);
  say(`ingress proxy: ${out.map((s) => s.line).join('\n')}`);
  return r.text;
}

/** Removes the ingress namespace, so the cases after these see the demo alone. */
export async function ingressCleanup(cluster: Cluster): Promise<void> {
  await kubectl(cluster, 'delete', 'namespace', INGRESS_NS, '--ignore-not-found', '--wait=true', '--timeout=120s');
}
