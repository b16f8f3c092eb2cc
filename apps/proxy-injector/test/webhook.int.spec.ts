import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { createLogger, createRegistry } from '@trellis/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInjector, type RunningInjector } from '../src/injector.ts';
import { StaticCluster, type Cluster } from '../src/kube/cluster.ts';
import { ANCHORS, eventually, injectorFiles, pod, post, review, writeSelfSigned } from './support/fixtures.ts';

const log = createLogger({ name: 'proxy-injector-test', level: 'silent', format: 'json' });

function adminGet(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

interface Patch {
  op: string;
  path: string;
  value?: { name?: string; env?: { name: string; value?: string }[] };
}

const decodePatch = (b64: string) => JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as Patch[];

describe('proxy-injector webhook', () => {
  const files = injectorFiles();
  const cluster = new StaticCluster({ emojivoto: { 'linkerd.io/inject': 'enabled' }, plain: {}, opaque: { 'config.linkerd.io/opaque-ports': '9000' } });
  let injector: RunningInjector;
  let ca = files.cert;
  const send = (body: unknown) => post(injector.webhook.port, typeof body === 'string' ? body : JSON.stringify(body), ca);

  beforeAll(async () => {
    injector = await startInjector(files.config, { log, registry: createRegistry({ processMetrics: false }), cluster });
  });
  afterAll(async () => {
    await injector?.close();
  });

  it('injects a pod in an annotated namespace and echoes apiVersion and uid', async () => {
    const r = await send(review(pod(), { uid: 'uid-v1' }));
    expect(r.status).toBe(200);
    const out = JSON.parse(r.text);
    expect(out).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-v1', allowed: true, patchType: 'JSONPatch' } });
    const patch = decodePatch(out.response.patch);
    const proxy = patch.find((op) => op.value?.name === 'linkerd-proxy');
    expect(proxy?.path).toBe('/spec/initContainers/1');
    expect(proxy?.value?.env?.find((e) => e.name === 'LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS')?.value).toBe(ANCHORS);
    expect(proxy?.value?.env?.find((e) => e.name === 'LINKERD2_PROXY_LOG')?.value).toBe('warn,linkerd=info,[{headers}]=off,[{request}]=off');
    expect(patch).toContainEqual({ op: 'add', path: '/metadata/labels/linkerd.io~1proxy-deployment', value: 'web' });
    expect(cluster.events).toContainEqual({ involved: expect.objectContaining({ kind: 'Deployment', name: 'web' }), type: 'Normal', reason: 'Injected', message: 'Trellis sidecar proxy injected' });
  });

  it('closes the connection after each review, so kube-apiserver never waits on one to a pod that vanished', async () => {
    expect(await send(review(pod(), { uid: 'uid-close' }))).toMatchObject({ status: 200, connection: 'close' });
  });

  it('answers admission.k8s.io/v1beta1 reviews in v1beta1', async () => {
    const out = JSON.parse((await send(review(pod(), { apiVersion: 'admission.k8s.io/v1beta1', uid: 'uid-beta' }))).text);
    expect(out).toMatchObject({ apiVersion: 'admission.k8s.io/v1beta1', response: { uid: 'uid-beta', allowed: true, patchType: 'JSONPatch' } });
  });

  it('allows a pod of an unannotated namespace without a patch', async () => {
    const out = JSON.parse((await send(review({ ...pod(), metadata: { ...pod().metadata, namespace: 'plain' } }, { namespace: 'plain' }))).text);
    expect(out.response).toEqual({ uid: 'f0b1c2d3-0000-4000-8000-000000000001', allowed: true });
  });

  it('records InjectionSkipped on the owner when the pod opts out', async () => {
    await send(review(pod({ 'linkerd.io/inject': 'disabled' }, 'api-7f9c6b8d5')));
    expect(cluster.events).toContainEqual(expect.objectContaining({ reason: 'InjectionSkipped', involved: expect.objectContaining({ name: 'api' }) }));
  });

  it('adds the namespace opaque ports to a Service', async () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'opaque' }, spec: { ports: [{ port: 80 }] } };
    const out = JSON.parse((await send(review(svc, { kind: 'Service', namespace: 'opaque' }))).text);
    expect(decodePatch(out.response.patch)).toEqual([
      { op: 'add', path: '/metadata/annotations', value: {} },
      { op: 'add', path: '/metadata/annotations/config.linkerd.io~1opaque-ports', value: '9000' },
    ]);
  });

  it('allows an object of an unknown kind unchanged', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} };
    const out = JSON.parse((await send(review(cm, { kind: 'ConfigMap' }))).text);
    expect(out.response).toEqual({ uid: 'f0b1c2d3-0000-4000-8000-000000000001', allowed: true });
  });

  it('allows operations other than CREATE unchanged', async () => {
    const out = JSON.parse((await send(review(pod(), { operation: 'UPDATE' }))).text);
    expect(out.response).toEqual({ uid: 'f0b1c2d3-0000-4000-8000-000000000001', allowed: true });
  });

  describe('bad input', () => {
    it.each([
      ['garbage', 'the quick brown fox', /TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not JSON/],
      ['truncated JSON', JSON.stringify(review(pod())).slice(0, 200), /TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not JSON/],
      ['an empty body', '', /body is not JSON/],
      ['a JSON array', '[1,2]', /body is not a JSON object/],
      ['a review without request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /AdmissionReview has no request/],
      ['a request without uid', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }), /request has no uid/],
      ['an unknown apiVersion', JSON.stringify({ ...review(pod()), apiVersion: 'admission.k8s.io/v2' }), /apiVersion "admission.k8s.io\/v2" is not one of/],
    ])('answers %s with 400 and keeps serving', async (_what, body, message) => {
      const r = await send(body);
      expect(r.status).toBe(400);
      expect(r.text).toMatch(message);
      expect((await send(review(pod()))).status).toBe(200);
    });

    it('answers a 20 MB body with 413 and keeps serving', async () => {
      const big = Buffer.alloc(20 * 1024 * 1024, 0x20);
      const r = await post(injector.webhook.port, big, ca).catch((err: NodeJS.ErrnoException) => ({ status: -1, text: String(err.code) }));
      // The server answers 413 once 10 MB have arrived; a client still writing may instead see the connection reset.
      if (r.status === -1) expect(r.text).toMatch(/^(ECONNRESET|EPIPE)$/);
      else expect(r).toMatchObject({ status: 413, text: expect.stringMatching(/FST_ERR_CTP_BODY_TOO_LARGE/) });
      expect((await send(review(pod()))).status).toBe(200);
    });
  });

  it('refuses TLS below 1.3', async () => {
    await expect(post(injector.webhook.port, '{}', ca, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
  });

  it('serves /metrics with Linkerd\'s series, /ping and /ready on the admin port', async () => {
    const metrics = await adminGet(injector.admin.port, '/metrics');
    expect(metrics.text).toMatch(/^proxy_inject_admission_requests_total\{owner_kind="deployment",namespace="emojivoto",annotation_at="namespace",.*\} \d+/m);
    expect(metrics.text).toMatch(/^proxy_inject_admission_responses_total\{owner_kind="deployment",namespace="emojivoto",annotation_at="workload",.*proxy_log_level="",.*skip="true",skip_reason="injection_disable_annotation_present"\} 1/m);
    expect(metrics.text).toMatch(/^proxy_inject_admission_responses_total\{.*namespace="plain".*skip="true",skip_reason="injection_enable_annotation_absent"\} 1/m);
    expect(await adminGet(injector.admin.port, '/ping')).toEqual({ status: 200, text: 'pong\n' });
    expect((await adminGet(injector.admin.port, '/ready')).status).toBe(200);
  });

  it('picks up new values without a restart', async () => {
    writeFileSync(files.config.valuesFile, 'proxy:\n  logLevel: debug\n');
    await eventually(async () => {
      const out = JSON.parse((await send(review(pod()))).text);
      const env = decodePatch(out.response.patch).find((op) => op.value?.name === 'linkerd-proxy')?.value?.env;
      return env?.find((e) => e.name === 'LINKERD2_PROXY_LOG')?.value?.startsWith('debug,') ? true : undefined;
    }, 10_000, 'the new log level in patches');
  });

  it('serves a replaced certificate without a restart', async () => {
    const before = (await send(review(pod()))).peerCertificate;
    ca = writeSelfSigned(files.dir, 'rotated');
    const after = await eventually(async () => {
      const r = await send(review(pod())).catch(() => undefined);
      return r && r.peerCertificate !== before ? r : undefined;
    }, 10_000, 'the rotated certificate');
    expect(after.status).toBe(200);
  });
});

describe('proxy-injector failures', () => {
  it('refuses the pod with the reason when the namespace cannot be read', async () => {
    const files = injectorFiles();
    const broken: Cluster = {
      namespace: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
      },
      topOwner: async (_ns, ref) => ref,
      recordEvent: () => undefined,
    };
    const injector = await startInjector(files.config, { log, registry: createRegistry({ processMetrics: false }), cluster: broken });
    try {
      const out = JSON.parse((await post(injector.webhook.port, JSON.stringify(review(pod())), files.cert)).text);
      expect(out.response).toEqual({
        uid: 'f0b1c2d3-0000-4000-8000-000000000001',
        allowed: false,
        result: { message: 'TRELLIS_ERR_INTERNAL: connect ECONNREFUSED 127.0.0.1:6443', code: 500 },
      });
    } finally {
      await injector.close();
    }
  });

  it('does not start without its values file, naming it', async () => {
    const files = injectorFiles();
    await expect(
      startInjector({ ...files.config, valuesFile: join(files.dir, 'missing') }, { log, registry: createRegistry({ processMetrics: false }), cluster: new StaticCluster({}) }),
    ).rejects.toThrow(/cannot read values file: .*missing/);
  });

  it('does not start with a key that does not match the certificate', async () => {
    const a = injectorFiles();
    const b = injectorFiles();
    await expect(
      startInjector({ ...a.config, tlsKeyFile: b.config.tlsKeyFile }, { log, registry: createRegistry({ processMetrics: false }), cluster: new StaticCluster({}) }),
    ).rejects.toThrow(/are not a usable certificate and key/);
  });
});
