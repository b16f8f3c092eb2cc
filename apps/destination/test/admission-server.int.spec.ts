// The webhooks' HTTPS server over real TLS: AdmissionReviews in, verdicts out, and malformed bodies answered
// with a clear error while the server keeps serving.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdmissionServer, type AdmissionServer } from '../src/webhook/admission-server.ts';
import { policyValidator } from '../src/webhook/policy-validator.ts';
import { serviceProfileValidator } from '../src/webhook/sp-validator.ts';

let sp: AdmissionServer;
let policy: AdmissionServer;
let ca: Buffer;

function post(port: number, body: string, path = '/'): Promise<{ status: number; text: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ...(res.headers.connection ? { connection: res.headers.connection } : {}) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

type Review = { apiVersion: string; response: { uid: string; allowed: boolean; status?: { message: string } } };
const json = async (port: number, body: unknown) => {
  const res = await post(port, JSON.stringify(body));
  expect(res.status).toBe(200);
  return JSON.parse(res.text) as Review;
};

const review = (group: string, kind: string, object: unknown, apiVersion = 'admission.k8s.io/v1') => ({
  apiVersion,
  kind: 'AdmissionReview',
  request: { uid: `uid-${kind}`, kind: { group, version: 'v1', kind }, operation: 'CREATE', namespace: 'shop', object },
});

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'admission-server-'));
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')]);
  ca = await readFile(join(dir, 'tls.crt'));
  const base = { host: '127.0.0.1', port: 0, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), logger: pino({ level: 'silent' }) };
  sp = await startAdmissionServer({ ...base, name: 'sp-validator', validate: serviceProfileValidator('cluster.local') });
  // The Server rule lists Servers from the API server; here that list fails, as it would with the API server down.
  const listServers = async () => {
    throw new Error('the API server is not reachable');
  };
  policy = await startAdmissionServer({ ...base, name: 'policy-validator', validate: policyValidator({ listServers }) });
});

afterAll(async () => {
  await sp?.close();
  await policy?.close();
});

describe('sp-validator over HTTPS', () => {
  it('closes the connection after each review, so kube-apiserver never waits on one to a pod that vanished', async () => {
    const res = await post(sp.port, JSON.stringify(review('linkerd.io', 'ServiceProfile', { metadata: { name: 'web.shop.svc.cluster.local' }, spec: {} })));
    expect(res).toMatchObject({ status: 200, connection: 'close' });
  });

  it('admits a valid ServiceProfile', async () => {
    const res = await json(sp.port, review('linkerd.io', 'ServiceProfile', { metadata: { name: 'web.shop.svc.cluster.local' }, spec: { routes: [{ name: 'home', condition: { method: 'GET', pathRegex: '/' } }] } }));
    expect(res.response).toEqual({ uid: 'uid-ServiceProfile', allowed: true });
  });

  it('denies a misnamed ServiceProfile with a message saying why', async () => {
    const res = await json(sp.port, review('linkerd.io', 'ServiceProfile', { metadata: { name: 'web' }, spec: {} }));
    expect(res.response.allowed).toBe(false);
    expect(res.response.status?.message).toBe('ServiceProfile "web" must be named <service>.<namespace>.svc.cluster.local');
  });
});

describe('policy-validator over HTTPS', () => {
  const authz = { metadata: { name: 'web-authz', namespace: 'shop' }, spec: { targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'web' }, requiredAuthenticationRefs: [] } };

  it('denies an AuthorizationPolicy without authentications, in the apiVersion it was asked in', async () => {
    const res = await json(policy.port, review('policy.linkerd.io', 'AuthorizationPolicy', authz, 'admission.k8s.io/v1beta1'));
    expect(res.apiVersion).toBe('admission.k8s.io/v1beta1');
    expect(res.response).toMatchObject({ uid: 'uid-AuthorizationPolicy', allowed: false });
    expect(res.response.status?.message).toMatch(/^AuthorizationPolicy "web-authz": spec\.requiredAuthenticationRefs is empty/);
  });

  it('admits a valid MeshTLSAuthentication', async () => {
    const res = await json(policy.port, review('policy.linkerd.io', 'MeshTLSAuthentication', { metadata: { name: 'm' }, spec: { identities: ['*'] } }));
    expect(res.response).toEqual({ uid: 'uid-MeshTLSAuthentication', allowed: true });
  });

  it('refuses an object it could not check, saying why, and keeps serving', async () => {
    const res = await json(policy.port, review('policy.linkerd.io', 'Server', { metadata: { name: 's' }, spec: { podSelector: {}, port: 80 } }));
    expect(res.response.allowed).toBe(false);
    expect(res.response.status?.message).toBe('TRELLIS_ERR_INTERNAL: the policy-validator could not check this object: the API server is not reachable');
    expect((await json(policy.port, review('policy.linkerd.io', 'NetworkAuthentication', { metadata: { name: 'n' }, spec: { networks: [{ cidr: '10.0.0.0/8' }] } }))).response.allowed).toBe(true);
  });
});

describe('malformed requests', () => {
  it.each([
    ['{"apiVersion": ', 'TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not JSON'],
    ['', 'TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not JSON'],
    ['[1, 2]', 'TRELLIS_ERR_BAD_ADMISSION_REVIEW: body is not a JSON object'],
    ['{"apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview"}', 'TRELLIS_ERR_BAD_ADMISSION_REVIEW: apiVersion "admission.k8s.io/v2" is not one of'],
    ['{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}', 'TRELLIS_ERR_BAD_ADMISSION_REVIEW: AdmissionReview has no request'],
    ['{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"kind": {"kind": "Server"}}}', 'TRELLIS_ERR_BAD_ADMISSION_REVIEW: AdmissionReview request has no uid'],
  ])('answers %j with 400 and the problem', async (body, message) => {
    for (const port of [sp.port, policy.port]) {
      const res = await post(port, body);
      expect(res.status).toBe(400);
      expect(res.text).toContain(message);
    }
  });

  it('answers a request whose object is not an object with a denial, not a crash', async () => {
    const res = await json(policy.port, review('policy.linkerd.io', 'AuthorizationPolicy', 'not an object'));
    expect(res.response).toMatchObject({ allowed: false, status: { message: 'AuthorizationPolicy "": spec is required' } });
  });

  it('answers 404 off the webhook path and 413 for a body over 4 MiB', async () => {
    expect((await post(policy.port, '{}', '/validate')).status).toBe(404);
    const big = await post(policy.port, JSON.stringify({ pad: 'x'.repeat(5 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect((await json(policy.port, review('policy.linkerd.io', 'MeshTLSAuthentication', { metadata: { name: 'm' }, spec: { identities: ['*'] } }))).response.allowed).toBe(true);
  });
});
