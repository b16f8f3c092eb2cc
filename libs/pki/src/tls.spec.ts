import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority } from './authority.ts';
import { createCsr, parseCsr } from './csr.ts';
import { createIssuer, createTrustAnchor, type GeneratedCa } from './generate.ts';
import { generateKeyPair } from './keys.ts';
import { tlsCredentials, type TlsCredentials } from './tls.ts';

const SERVER = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const CLIENT = 'vote-bot.emojivoto.serviceaccount.identity.trellis.cluster.local';

let root: GeneratedCa;
let ca: CertificateAuthority;

async function credentialsFor(authority: CertificateAuthority, id: string): Promise<TlsCredentials> {
  const keys = generateKeyPair();
  const leaf = authority.issue(parseCsr(await createCsr({ keys, dnsNames: [id] })), id, { lifetimeMs: 86_400_000, clockSkewMs: 20_000 });
  return tlsCredentials({ leaf: leaf.der, chain: authority.chain, privateKey: keys.privateKey, trustAnchors: authority.trustAnchors });
}

beforeAll(async () => {
  root = await createTrustAnchor({ commonName: 'root.trellis.cluster.local' });
  const issuer = await createIssuer({ commonName: 'identity.trellis.cluster.local', parent: root });
  ca = CertificateAuthority.fromParts({ chain: [issuer.certificate], privateKey: issuer.keys.privateKey, trustAnchors: [root.certificate] });
});

async function handshake(server: TlsCredentials, client: TlsCredentials, servername: string) {
  const srv = tls.createServer({ ...server, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] });
  const accepted = once(srv, 'secureConnection') as Promise<[tls.TLSSocket]>;
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const sock = tls.connect({ ...client, port: (srv.address() as AddressInfo).port, host: '127.0.0.1', servername, minVersion: 'TLSv1.3', ALPNProtocols: ['h2'] });
    // once() rejects with the socket's 'error', which is the failed handshake we want to report.
    const outcome = await once(sock, 'secureConnect').then(
      () => 'connected' as const,
      (e: Error) => e,
    );
    if (outcome instanceof Error) return { error: outcome };
    const [peer] = await accepted;
    const result = {
      protocol: sock.getProtocol(),
      clientSawServer: sock.getPeerCertificate().subjectaltname,
      serverSawClient: peer.getPeerCertificate().subjectaltname,
      serverAuthorizedClient: peer.authorized,
      clientAuthorizedServer: sock.authorized,
      alpn: sock.alpnProtocol,
    };
    sock.destroy();
    return result;
  } finally {
    srv.close();
  }
}

describe('leaf certificates for node:tls', () => {
  it('authenticate both peers over TLS 1.3 with their identities as DNS SANs', async () => {
    const r = await handshake(await credentialsFor(ca, SERVER), await credentialsFor(ca, CLIENT), SERVER);
    expect(r).toEqual({
      protocol: 'TLSv1.3',
      clientSawServer: `DNS:${SERVER}`,
      serverSawClient: `DNS:${CLIENT}`,
      serverAuthorizedClient: true,
      clientAuthorizedServer: true,
      alpn: 'h2',
    });
  });

  it('fail the handshake when the client expects another identity', async () => {
    const r = await handshake(await credentialsFor(ca, SERVER), await credentialsFor(ca, CLIENT), CLIENT);
    expect(r).toMatchObject({ error: expect.objectContaining({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) });
  });

  it('fail the handshake when the server was issued under another trust root', async () => {
    const strangerRoot = await createTrustAnchor({ commonName: 'stranger' });
    const strangerIssuer = await createIssuer({ commonName: 'stranger issuer', parent: strangerRoot });
    const stranger = CertificateAuthority.fromParts({ chain: [strangerIssuer.certificate], privateKey: strangerIssuer.keys.privateKey, trustAnchors: [strangerRoot.certificate] });
    const r = await handshake(await credentialsFor(stranger, SERVER), await credentialsFor(ca, CLIENT), SERVER);
    expect(r).toMatchObject({ error: expect.objectContaining({ code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }) });
  });
});
