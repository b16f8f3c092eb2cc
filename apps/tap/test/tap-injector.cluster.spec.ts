// The tap injector against a real kube-apiserver: the API server calls it (on loopback, self-signed certificate)
// for pods created in this test's namespace, after a stand-in for the core injector named as the chart names the
// core one (Kubernetes orders mutating webhooks by configuration name). The stand-in serves @trellis/inject's
// patch, the core injector's own function, so the tap injector sees the proxy exactly as a meshed pod has it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCommandLine } from '@trellis/config';
import { DEFAULT_VALUES, inject as injectProxy } from '@trellis/inject';
import { loadKubeConfig } from '@trellis/k8s';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { tapApiConfig, TAP_API_SPEC } from '../src/config.ts';
import { startTapApi, type RunningTapApi } from '../src/tap-api.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const suffix = randomBytes(3).toString('hex');
const ns = `trellis-tapinj-${suffix}`;
const coreConfig = `trellis-proxy-injector-webhook-config-${suffix}`;
const tapConfig = `trellis-tap-injector-webhook-config-${suffix}`;
const TAP_NAME = 'tap.trellis-viz.serviceaccount.identity.$(_l5d_ns).$(_l5d_trustdomain)';
const run = promisify(execFile);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- objects read back from kubectl

function kubectl(args: readonly string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    child.stdin?.end(stdin);
  });
}
const getPod = async (name: string): Promise<Obj> => JSON.parse(await kubectl(['-n', ns, 'get', 'pod', name, '-o', 'json'])) as Obj;
const proxyOf = (pod: Obj): Obj | undefined => [...(pod['spec'].initContainers ?? []), ...pod['spec'].containers].find((c: Obj) => c['name'] === 'linkerd-proxy');
const tapEnv = (pod: Obj) => (proxyOf(pod)?.['env'] as Obj[] | undefined)?.filter((e) => e['name'] === 'LINKERD2_PROXY_TAP_SVC_NAME').map((e) => e['value']);

function webhookConfig(name: string, webhook: string, port: number, caPem: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: webhook,
        clientConfig: { url: `https://127.0.0.1:${port}/`, caBundle: Buffer.from(caPem).toString('base64') },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        // Only this test's namespace: the cluster is shared with other suites.
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns] }] },
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        timeoutSeconds: 10,
        ...extra,
      },
    ],
  };
}

/** The core injector's patch for pods annotated linkerd.io/inject: enabled, over HTTPS. */
async function startCoreInjector(cert: string, key: string): Promise<Server> {
  const server = createServer({ cert, key }, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const review = JSON.parse(body) as { request: { uid: string; namespace: string; object: unknown } };
      const result = injectProxy({ object: review.request.object, values: DEFAULT_VALUES, origin: 'webhook', objectNamespace: review.request.namespace });
      const response = { uid: review.request.uid, allowed: true, ...(result.patch.length > 0 ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(result.patch)).toString('base64') } : {}) };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

let api: RunningTapApi;
let core: Server;
let caPem: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tap-injector-'));
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=tap-injector', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-addext', 'subjectAltName=IP:127.0.0.1']);
  caPem = await readFile(join(dir, 'tls.crt'), 'utf8');
  const keyPem = await readFile(join(dir, 'tls.key'), 'utf8');
  const tls = ['--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key')];
  const cli = parseCommandLine(TAP_API_SPEC, ['--addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', ...tls, '--injector-addr', '127.0.0.1:0', '--injector-tls-cert', join(dir, 'tls.crt'), '--injector-tls-key', join(dir, 'tls.key'), '--tap-service-name', TAP_NAME, '--log-level', 'fatal']);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  api = await startTapApi(tapApiConfig(cli), { log: createLogger({ name: 'test', level: 'fatal', format: 'json' }), registry: createRegistry(), kubeConfig: loadKubeConfig({ kubeconfig }) });
  core = await startCoreInjector(caPem, keyPem);
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }));
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
    webhookConfig(coreConfig, 'trellis-proxy-injector.trellis.io', (core.address() as AddressInfo).port, caPem, { failurePolicy: 'Fail' }),
    webhookConfig(tapConfig, 'trellis-tap-injector.trellis.io', api.injector?.port ?? 0, caPem, { failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded' }),
  ] }));
}, 60_000);

afterAll(async () => {
  await kubectl(['delete', 'mutatingwebhookconfiguration', coreConfig, tapConfig, '--ignore-not-found']).catch(() => undefined);
  await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  await api?.close();
  core?.close();
});

const appPod = (name: string, annotations: Record<string, string>, extra: Obj = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, annotations },
  spec: { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0', ports: [{ containerPort: 8080 }] }], ...extra },
});

describe('tap injector on a real API server, after the core injector', () => {
  it('stores a pod meshed by the core injector with the tap identity in its proxy and tap-enabled', async () => {
    await kubectl(['create', '-f', '-'], JSON.stringify(appPod('web', { 'linkerd.io/inject': 'enabled' })));
    const pod = await getPod('web');
    // The core injector's native sidecar, its environment with the tap identity appended, the names filled in.
    expect(pod['spec'].initContainers.map((c: Obj) => c['name'])).toEqual(['linkerd-init', 'linkerd-proxy']);
    expect(tapEnv(pod)).toEqual(['tap.trellis-viz.serviceaccount.identity.trellis.cluster.local']);
    expect((proxyOf(pod)?.['env'] as Obj[]).at(-1)?.['name']).toBe('LINKERD2_PROXY_TAP_SVC_NAME');
    expect(pod['metadata'].annotations).toMatchObject({ 'viz.linkerd.io/tap-enabled': 'true', 'linkerd.io/inject': 'enabled' });
  });

  it('adds the identity to a proxy that is a plain container, keeping one it already has', async () => {
    const proxy = { name: 'linkerd-proxy', image: 'cr.l5d.io/linkerd/proxy:edge', env: [{ name: '_l5d_ns', value: 'mesh' }, { name: '_l5d_trustdomain', value: 'example.org' }] };
    await kubectl(['create', '-f', '-'], JSON.stringify(appPod('manual', {}, { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }, proxy] })));
    expect(tapEnv(await getPod('manual'))).toEqual(['tap.trellis-viz.serviceaccount.identity.mesh.example.org']);
    const own = { ...proxy, env: [...proxy.env, { name: 'LINKERD2_PROXY_TAP_SVC_NAME', value: 'tap.other' }] };
    await kubectl(['create', '-f', '-'], JSON.stringify(appPod('own', {}, { containers: [{ name: 'app', image: 'trellis/demo-web:0.1.0' }, own] })));
    const pod = await getPod('own');
    expect(tapEnv(pod)).toEqual(['tap.other']);
    expect(pod['metadata'].annotations?.['viz.linkerd.io/tap-enabled']).toBeUndefined();
  });

  it('leaves a pod without a proxy, and a pod with tap disabled, as they were created', async () => {
    await kubectl(['create', '-f', '-'], JSON.stringify(appPod('plain', { team: 'a' })));
    const plain = await getPod('plain');
    expect(plain['spec'].initContainers).toBeUndefined();
    expect(plain['spec'].containers.map((c: Obj) => [c['name'], c['env']])).toEqual([['app', undefined]]);
    expect(plain['metadata'].annotations).toEqual({ team: 'a' });
    await kubectl(['create', '-f', '-'], JSON.stringify(appPod('off', { 'linkerd.io/inject': 'enabled', 'viz.linkerd.io/disable-tap': 'true' })));
    const off = await getPod('off');
    expect(proxyOf(off)).toBeDefined();
    expect(tapEnv(off)).toEqual([]);
  });

  it('refuses a malformed review with HTTP 400 and a message naming the problem', async () => {
    const post = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: api.injector?.port, path: '/', method: 'POST', ca: caPem, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          // Each review on a fresh connection: kube-apiserver must never wait on one to a pod that vanished.
          expect(res.headers.connection).toBe('close');
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await post('{"apiVersion":')).toMatchObject({ status: 400, text: expect.stringMatching(/^TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not JSON: /) });
    expect(await post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }))).toEqual({ status: 400, text: 'TRELLIS_ERR_BAD_ADMISSION_REVIEW: kind "Pod" is not AdmissionReview\n' });
    // Still serving: the next pod is injected.
    await kubectl(['create', '-f', '-'], JSON.stringify(appPod('after', { 'linkerd.io/inject': 'enabled' })));
    expect(tapEnv(await getPod('after'))).toHaveLength(1);
  });
});
