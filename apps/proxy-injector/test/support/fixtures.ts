// Test support: a self-signed serving certificate (openssl), files for the injector to read, an HTTPS client.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectorConfig } from '../../src/config.ts';

export const ANCHORS = '-----BEGIN CERTIFICATE-----\nMIIBtestanchor\n-----END CERTIFICATE-----\n';

/** Writes tls.crt/tls.key for 127.0.0.1 and localhost into dir (overwriting); returns the certificate PEM. */
export function writeSelfSigned(dir: string, cn = 'trellis-proxy-injector.trellis.svc'): string {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'tls.key.new'), '-out', join(dir, 'tls.crt.new'),
  ], { stdio: 'ignore' });
  // Replace both files by rename so a reload never sees one new file and one old one.
  execFileSync('mv', ['-f', join(dir, 'tls.key.new'), join(dir, 'tls.key')]);
  execFileSync('mv', ['-f', join(dir, 'tls.crt.new'), join(dir, 'tls.crt')]);
  return readFileSync(join(dir, 'tls.crt'), 'utf8');
}

export function injectorFiles(values = 'proxy:\n  logLevel: warn,linkerd=info\n'): { dir: string; config: InjectorConfig; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-injector-'));
  const cert = writeSelfSigned(dir);
  writeFileSync(join(dir, 'values'), values);
  writeFileSync(join(dir, 'ca-bundle.crt'), ANCHORS);
  return {
    dir,
    cert,
    config: {
      addr: { host: '127.0.0.1', port: 0 },
      adminAddr: { host: '127.0.0.1', port: 0 },
      controlPlaneNamespace: 'trellis',
      tlsCertFile: join(dir, 'tls.crt'),
      tlsKeyFile: join(dir, 'tls.key'),
      valuesFile: join(dir, 'values'),
      trustAnchorsFile: join(dir, 'ca-bundle.crt'),
      kubeconfig: undefined,
      logLevel: 'silent',
      logFormat: 'json',
    },
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  readonly peerCertificate?: string;
  /** The answer's Connection header. */
  readonly connection?: string;
}

export function post(port: number, body: string | Buffer, ca: string, opts: { maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', method: 'POST', ca, headers: { 'content-type': 'application/json' }, agent: false, ...opts },
      (res) => {
        const chunks: Buffer[] = [];
        const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.().fingerprint256;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(fingerprint ? { peerCertificate: fingerprint } : {}), ...(res.headers.connection ? { connection: res.headers.connection } : {}) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function review(object: unknown, opts: { apiVersion?: string; namespace?: string; kind?: string; uid?: string; operation?: string } = {}) {
  return {
    apiVersion: opts.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? 'f0b1c2d3-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: opts.kind ?? 'Pod' },
      resource: { group: '', version: 'v1', resource: (opts.kind ?? 'Pod').toLowerCase() + 's' },
      namespace: opts.namespace ?? 'emojivoto',
      operation: opts.operation ?? 'CREATE',
      object,
    },
  };
}

export function pod(annotations: Record<string, string> = {}, ownerRs = 'web-5d8b4f9c7') {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ownerRs}-`,
      namespace: 'emojivoto',
      labels: { app: 'web-svc' },
      annotations,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: ownerRs, uid: 'rs-uid', controller: true }],
    },
    spec: { containers: [{ name: 'web-svc', image: 'web:1', ports: [{ containerPort: 8080, name: 'http' }] }] },
  };
}

/** Polls until fn returns a value other than undefined, or fails after the deadline. */
export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
