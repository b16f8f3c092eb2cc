// A real TLS server holding a certificate issued by libs/pki's CA the way identity issues a proxy's: the CLI's
// handshake names the identity and reads what the server presents, and the pod spec the injector writes gives
// the identity and the port to ask.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import { CertificateAuthority, createCsr, createIssuer, createTrustAnchor, encodePem, generateKeyPair, parseCsr, privateKeyToPem } from '@trellis/pki';
import { certificateJson, describeCertificate, presentedCertificate, proxyTarget } from './certificate.ts';

const ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
let server: Server;
let port: number;
let leafPem: string;

beforeAll(async () => {
  const anchor = await createTrustAnchor({ commonName: 'root.trellis.cluster.local' });
  const issuer = await createIssuer({ commonName: 'identity.trellis.cluster.local', parent: anchor });
  const ca = CertificateAuthority.fromPem({ certificatePem: issuer.certificatePem, privateKeyPem: issuer.privateKeyPem, trustAnchorsPem: anchor.certificatePem });
  const keys = generateKeyPair();
  const csr = parseCsr(await createCsr({ keys, dnsNames: [ID] }));
  const leaf = ca.issue(csr, ID, { lifetimeMs: 24 * 3600_000, clockSkewMs: 20_000 });
  leafPem = encodePem('CERTIFICATE', leaf.der);
  // Like the proxy: the certificate only for a ClientHello that names its identity.
  server = createServer({
    SNICallback: (name, cb) => cb(name === ID ? null : new Error(`unknown SNI ${name}`), undefined),
    cert: leafPem,
    key: privateKeyToPem(keys.privateKey),
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server?.close();
});

describe('presentedCertificate', () => {
  it('reads the certificate the server presents for the identity, without verifying it', async () => {
    const cert = await presentedCertificate('127.0.0.1', port, ID);
    expect(cert.toString()).toBe(new X509Certificate(leafPem).toString());
  });

  it('fails naming the cause when nothing listens', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const free = (closed.address() as AddressInfo).port;
    closed.close();
    await expect(presentedCertificate('127.0.0.1', free, ID)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('describeCertificate', () => {
  it("prints the subject, the SANs, the issuer and the validity in OpenSSL's layout", () => {
    const cert = new X509Certificate(leafPem);
    const text = describeCertificate(cert);
    expect(text).toContain(`        Issuer: CN=identity.trellis.cluster.local\n`);
    expect(text).toContain(`        Subject: CN=${ID}\n`);
    expect(text).toContain(`            X509v3 Subject Alternative Name:\n                DNS:${ID}\n`);
    expect(text).toContain(`            Not Before: ${cert.validFrom}\n            Not After : ${cert.validTo}\n`);
    expect(text).toContain('            Public Key Algorithm: ECDSA (P-256)\n');
    expect(text).toContain('    Signature Algorithm: ecdsa-with-SHA256\n');
    expect(text).toContain('            X509v3 Basic Constraints: CA:FALSE\n');
    expect(certificateJson(cert)).toMatchObject({ subject: `CN=${ID}`, issuer: 'CN=identity.trellis.cluster.local', dnsNames: [ID], notAfter: cert.validToDate.toISOString() });
  });
});

describe('proxyTarget', () => {
  const pod = (env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[], ports = [{ name: 'linkerd-proxy', containerPort: 4143 }]): V1Pod => ({
    metadata: { name: 'web-1', namespace: 'emojivoto' },
    spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'web' }], initContainers: [{ name: 'linkerd-proxy', image: 'proxy', env, ports }] },
  });

  it("fills the injector's $(VAR)s from the pod's service account and namespace", () => {
    const p = pod([
      { name: '_pod_sa', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
      { name: '_pod_ns', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: '_l5d_ns', value: 'trellis' },
      { name: '_l5d_trustdomain', value: 'cluster.local' },
      { name: 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME', value: '$(_pod_sa).$(_pod_ns).serviceaccount.identity.$(_l5d_ns).$(_l5d_trustdomain)' },
    ]);
    expect(proxyTarget(p)).toEqual({ identity: ID, port: 4143 });
  });

  it('says why a pod cannot be asked', () => {
    expect(proxyTarget({ metadata: { name: 'x' }, spec: { containers: [{ name: 'app' }] } })).toEqual({ reason: 'not meshed (no linkerd-proxy container)' });
    expect(proxyTarget(pod([{ name: 'LINKERD2_PROXY_IDENTITY_DISABLED', value: 'disabled' }]))).toEqual({ reason: 'its proxy runs without identity (LINKERD2_PROXY_IDENTITY_DISABLED)' });
    expect(proxyTarget(pod([]))).toEqual({ reason: 'its proxy has no identity name (LINKERD2_PROXY_IDENTITY_LOCAL_NAME)' });
  });

  it('takes the inbound port from the listen address when no port is named', () => {
    const p = pod([{ name: 'LINKERD2_PROXY_IDENTITY_LOCAL_NAME', value: ID }, { name: 'LINKERD2_PROXY_INBOUND_LISTEN_ADDR', value: '0.0.0.0:4243' }], []);
    expect(proxyTarget(p)).toEqual({ identity: ID, port: 4243 });
  });
});
