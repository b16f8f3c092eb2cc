// `trellis diagnostics endpoints|profile|policy` against a real destination process (apps/destination, run from
// its source) watching the real API server, reached at --destination-addr / --policy-addr; and the paths that go
// through the API server's port-forward (identity, diagnostics without an address), which the shared cluster
// cannot complete without a node: they must fail naming the pod and the reason. The end-to-end test on the node
// cluster covers the port-forwards themselves.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../src/commands/root.ts';

const kubeconfig = inject('kubeconfig');
const ROOT = join(import.meta.dirname, '..', '..', '..');
const KUBECTL = join(ROOT, 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const ns = `trellis-diag-${suffix}`;
const ID = `web.${ns}.serviceaccount.identity.trellis.cluster.local`;
let destination: ChildProcess | undefined;
let ports: { destination: number; policy: number };

function kubectl(args: readonly string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
    child.stdin?.end(stdin);
  });
}

async function trellis(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...argv, '--kubeconfig', kubeconfig], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' });
  return { code, out, err };
}

const apply = async (obj: unknown) => expect((await kubectl(['apply', '-f', '-'], JSON.stringify(obj))).stderr).toBe('');

/** A meshed pod as the injector leaves it, given an IP by a status write (no node runs it). */
async function meshedPod(name: string, ip: string): Promise<void> {
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: 'web', 'linkerd.io/control-plane-ns': 'trellis' } },
    spec: {
      serviceAccountName: 'web',
      automountServiceAccountToken: false,
      containers: [
        { name: 'web', image: 'trellis/demo-web:0.1.0', ports: [{ name: 'http', containerPort: 8080 }] },
        {
          name: 'linkerd-proxy',
          image: 'trellis/proxy:0.1.0',
          ports: [{ name: 'linkerd-proxy', containerPort: 4143 }, { name: 'linkerd-admin', containerPort: 4191 }],
          env: [
            { name: '_pod_sa', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
            { name: '_pod_ns', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR', value: '0.0.0.0:4143' },
            { name: 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME', value: '$(_pod_sa).$(_pod_ns).serviceaccount.identity.trellis.cluster.local' },
          ],
        },
      ],
    },
  });
  const status = JSON.stringify({ status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '192.0.2.1' } });
  expect((await kubectl(['-n', ns, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', status])).stderr).toBe('');
}

beforeAll(async () => {
  const crds = await trellis('install', '--crds');
  expect(crds.code).toBe(0);
  expect((await kubectl(['apply', '-f', '-'], crds.out)).code).toBe(0);
  expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
  expect((await kubectl(['-n', ns, 'create', 'serviceaccount', 'web'])).code).toBe(0);
  await meshedPod('web-1', '10.1.0.1');
  await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-svc', namespace: ns }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } });
  await apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-svc-a', namespace: ns, labels: { 'kubernetes.io/service-name': 'web-svc' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'web-1', namespace: ns } }],
  });
  await apply({
    apiVersion: 'linkerd.io/v1alpha2',
    kind: 'ServiceProfile',
    metadata: { name: `web-svc.${ns}.svc.cluster.local`, namespace: ns },
    spec: { routes: [{ name: 'GET /api/list', condition: { method: 'GET', pathRegex: '/api/list' } }] },
  });

  let log = '';
  destination = spawn(process.execPath, [join(ROOT, 'apps/destination/src/main.ts'), '--addr', '127.0.0.1:0', '--policy-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--kubeconfig', kubeconfig, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  destination.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  destination.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = log.split('\n').find((l) => l.includes('"destination serving"'));
    if (line) {
      ports = JSON.parse(line) as typeof ports;
      break;
    }
    if (destination.exitCode !== null || Date.now() > deadline) throw new Error(`destination did not start:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  if (destination && destination.exitCode === null) {
    destination.kill('SIGTERM');
    await once(destination, 'exit');
  }
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('trellis diagnostics endpoints', () => {
  it("prints the endpoints of an authority in Linkerd's columns, with identity and weight in JSON", async () => {
    const authority = `web-svc.${ns}.svc.cluster.local:80`;
    const r = await trellis('diagnostics', 'endpoints', authority, '--destination-addr', `127.0.0.1:${ports.destination}`);
    expect(r.err).toBe('');
    expect(r.out).toBe(`NAMESPACE${' '.repeat(ns.length - 6)}IP         PORT   POD     SERVICE\n${ns}   10.1.0.1   8080   web-1   web-svc.${ns}\n`);
    const json = await trellis('diagnostics', 'endpoints', authority, '-o', 'json', '--destination-addr', `127.0.0.1:${ports.destination}`);
    expect(JSON.parse(json.out)).toEqual({ [authority]: [{ namespace: ns, ip: '10.1.0.1', port: 8080, pod: 'web-1', service: `web-svc.${ns}`, weight: 10000, identity: ID, protocolHint: 'h2' }] });
  }, 30_000);

  it('says when an authority has no endpoints, and rejects a malformed one', async () => {
    await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty', namespace: ns }, spec: { ports: [{ port: 80, protocol: 'TCP' }] } });
    const r = await trellis('diagnostics', 'endpoints', `empty.${ns}.svc.cluster.local:80`, '--destination-addr', `127.0.0.1:${ports.destination}`);
    expect(r).toEqual({ code: 0, out: '', err: `No endpoints found for empty.${ns}.svc.cluster.local:80 (destination sent none within 10 s).\n` });
    expect(await trellis('diagnostics', 'endpoints', 'web-svc')).toEqual({ code: 1, out: '', err: 'trellis diagnostics endpoints: invalid authority "web-svc": expected HOST:PORT, e.g. web-svc.emojivoto.svc.cluster.local:80\n' });
  }, 30_000);
});

describe('trellis diagnostics profile', () => {
  it("prints the ServiceProfile's routes as destination serves them", async () => {
    const r = await trellis('diagnostics', 'profile', `web-svc.${ns}.svc.cluster.local:80`, '--destination-addr', `127.0.0.1:${ports.destination}`);
    expect(r.err).toBe('');
    const profile = parse(r.out) as { fullyQualifiedName: string; routes: { metricsLabels: Record<string, string> }[] };
    expect(profile.fullyQualifiedName).toBe(`web-svc.${ns}.svc.cluster.local`);
    expect(profile.routes.map((x) => x.metricsLabels['route'])).toEqual(['GET /api/list']);
    const json = await trellis('diagnostics', 'profile', `web-svc.${ns}.svc.cluster.local:80`, '-o', 'json', '--destination-addr', `127.0.0.1:${ports.destination}`);
    expect(JSON.parse(json.out)).toEqual(profile);
  }, 30_000);
});

describe('trellis diagnostics policy', () => {
  it("prints a Service's outbound policy and a pod's inbound policy", async () => {
    const policyAddr = `127.0.0.1:${ports.policy}`;
    const out = await trellis('-n', ns, 'diagnostics', 'policy', 'svc/web-svc', '80', '--policy-addr', policyAddr);
    expect(out.err).toBe('');
    const outbound = parse(out.out) as { metadata: { resource: { kind: string; name: string; namespace: string; port: number } } };
    expect(outbound.metadata.resource).toMatchObject({ kind: 'Service', name: 'web-svc', namespace: ns, port: 80 });
    const inb = await trellis('-n', ns, 'diagnostics', 'policy', 'po/web-1', '8080', '--policy-addr', policyAddr, '-o', 'json');
    expect(inb.err).toBe('');
    const server = JSON.parse(inb.out) as { labels: Record<string, string>; authorizations: unknown[] };
    expect(server.labels).toMatchObject({ kind: 'default', name: 'all-unauthenticated' });
    expect(server.authorizations.length).toBeGreaterThan(0);
  }, 30_000);

  it('names what is wrong: a port out of range, an unknown Service, no destination pod to forward to', async () => {
    expect((await trellis('-n', ns, 'diagnostics', 'policy', 'svc/web-svc', '0')).err).toBe('trellis diagnostics policy: invalid port "0": expected 1..65535\n');
    const missing = await trellis('-n', ns, 'diagnostics', 'policy', 'svc/nope', '80', '--policy-addr', `127.0.0.1:${ports.policy}`);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`trellis diagnostics policy: outbound policy of nope.${ns}.svc:80: Service nope.${ns} not found\n`);
    const none = await trellis('-L', `no-cp-${suffix}`, 'diagnostics', 'endpoints', `web-svc.${ns}.svc.cluster.local:80`);
    expect(none).toEqual({ code: 1, out: '', err: `trellis diagnostics endpoints: no running destination pod in namespace no-cp-${suffix} (is Trellis installed? see trellis check)\n` });
  }, 30_000);
});

describe('trellis identity', () => {
  it('asks the proxy through a port-forward, and names the pod and the reason when that fails', async () => {
    // No node runs the pod, so the API server has no kubelet to forward to.
    const r = await trellis('-n', ns, 'identity', 'web-1');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(new RegExp(`^trellis identity: ${ns}/web-1: port-forward to ${ns}/web-1:4143 failed: .+\\n$`));
  }, 30_000);

  it('says which pods are not meshed, and needs pods named or selected', async () => {
    await apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', namespace: ns, labels: { app: 'plain' } }, spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }] } });
    expect(await trellis('-n', ns, 'identity', '-l', 'app=plain')).toEqual({ code: 1, out: '', err: `trellis identity: ${ns}/plain: not meshed (no linkerd-proxy container)\n` });
    expect(await trellis('-n', ns, 'identity', '-l', 'app=none')).toEqual({ code: 1, out: '', err: `trellis identity: no pods found in ${ns} for -l app=none\n` });
    expect((await trellis('identity')).err).toBe('trellis identity: name the pods (POD or TYPE/NAME) or select them with -l\n');
  }, 30_000);
});
