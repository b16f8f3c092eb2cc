// The sp-validator over real HTTPS: an AdmissionReview in, the verdict out.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpValidator, type SpValidator } from '../src/webhook/sp-validator.ts';

let webhook: SpValidator;
let ca: Buffer;

function post(body: unknown): Promise<{ status: number; json: { response: { uid: string; allowed: boolean; status?: { message: string } } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: webhook.port, method: 'POST', path: '/', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as never }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sp-validator-'));
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')]);
  ca = await readFile(join(dir, 'tls.crt'));
  webhook = await startSpValidator({ host: '127.0.0.1', port: 0, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), clusterDomain: 'cluster.local', logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await webhook?.close();
});

describe('sp-validator over HTTPS', () => {
  const review = (name: string, spec: unknown) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: `uid-${name}`, kind: { group: 'linkerd.io', version: 'v1alpha2', kind: 'ServiceProfile' }, operation: 'CREATE', object: { metadata: { name }, spec } },
  });

  it('admits a valid ServiceProfile', async () => {
    const res = await post(review('web.shop.svc.cluster.local', { routes: [{ name: 'home', condition: { method: 'GET', pathRegex: '/' } }] }));
    expect(res.status).toBe(200);
    expect(res.json.response).toEqual({ uid: 'uid-web.shop.svc.cluster.local', allowed: true });
  });

  it('denies a misnamed ServiceProfile with a message saying why', async () => {
    const res = await post(review('web', {}));
    expect(res.json.response.allowed).toBe(false);
    expect(res.json.response.status?.message).toBe('ServiceProfile "web" must be named <service>.<namespace>.svc.cluster.local');
  });
});
