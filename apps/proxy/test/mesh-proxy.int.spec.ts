// The proxy started as the injector starts it (identity and destination variables, no plaintext switch):
// it binds at once, obtains its certificate, turns ready, and serves the connections that waited for it.
import { createServer, request, type Server } from 'node:http';
import { connect as h2Connect, type IncomingHttpHeaders } from 'node:http2';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { Credentials } from '../src/identity/credentials.ts';
import { asPriorKnowledgeH2 } from '../src/tls/h2-prior-knowledge.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { connectOpaqueTransport, headerFor, TRANSPORT_HEADER_ALPN } from '../src/tls/transport.ts';
import { NotRedirectedError } from '@trellis/net';
import { listenOn, sample } from './harness.ts';
import { createCsr, generateKeyPair } from '@trellis/pki';
import { controlAddr } from '../src/identity/env.ts';
import { grpcCertify } from '../src/identity/grpc-certify.ts';
import { IDENTITY_SVC_NAME, startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination } from './mesh-stub-destination.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const CLIENT = 'vote-bot.default.serviceaccount.identity.trellis.cluster.local';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(port: number, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The HTTP/1 text exchanged over an already-open stream (one request, Connection: close). */
function rawExchange(s: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write(text);
  });
}

async function app(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) =>
    res.end(`app saw ${req.method} ${req.url} HTTP/${req.httpVersion} host=${String(req.headers.host)} client-id=${String(req.headers['l5d-client-id'] ?? '-')}`),
  );
  const port = await listenOn(server);
  cleanups.push(() => server.close());
  return { server, port };
}

describe('meshed proxy start', () => {
  it('is not ready and parks clients until identity answers, then serves the early client', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    identity.failWith = 14;
    const p = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => p.proxy.close());
    const { port } = await app();
    p.inboundTarget = { ip: '127.0.0.1', port };

    expect((await fetch(`${p.adminUrl}/ready`)).status).toBe(503);
    const early = get(p.inboundPort, '/early');
    await expect.poll(() => identity.tokens.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(p.proxy.mesh?.isReady()).toBe(false);
    identity.failWith = undefined;
    const res = await early;
    expect(res.status).toBe(200);
    // A plaintext client has no identity: any l5d-client-id it might send is not set by the proxy.
    expect(res.body).toBe(`app saw GET /early HTTP/1.1 host=127.0.0.1:${p.inboundPort} client-id=-`);
    expect((await fetch(`${p.adminUrl}/ready`)).status).toBe(200);
    const text = await p.metrics();
    expect(text).toContain('identity_cert_expiration_timestamp_seconds');
    // Served by the HTTP stack (not forwarded as opaque bytes after a detection timeout).
    expect(sample(text, 'request_total', 'no_tls_reason="no_tls_from_remote"')).toBe(1);
  });
});

describe('meshed proxy inbound', () => {
  it('terminates mTLS for its identity: l5d-client-id is the verified client, orig-proto is downgraded, metrics say tls="true"', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const p = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => p.proxy.close());
    const { port } = await app();
    p.inboundTarget = { ip: '127.0.0.1', port };
    await expect.poll(async () => (await fetch(`${p.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    const creds: Credentials = await pki.issue(CLIENT);
    const client = new MeshTls({ current: () => creds });
    const peer = { addr: `127.0.0.1:${p.inboundPort}`, host: '127.0.0.1', port: p.inboundPort, serverId: WEB };

    // HTTP/1 over mTLS: a forged l5d-client-id is replaced by the verified one.
    const tls = await client.connect(peer);
    expect(tls.getProtocol()).toBe('TLSv1.3');
    const h1 = await rawExchange(tls, 'GET /one HTTP/1.1\r\nHost: web\r\nl5d-client-id: forged\r\nConnection: close\r\n\r\n');
    expect(h1).toMatch(/^HTTP\/1\.1 200/);
    expect(h1).toContain(`app saw GET /one HTTP/1.1 host=web client-id=${CLIENT}`);

    // An upgraded HTTP/1 request over HTTP/2 (prior knowledge inside mTLS) reaches the app as HTTP/1.1.
    const session = h2Connect('http://web', { createConnection: () => asPriorKnowledgeH2(client.socket(peer)) });
    cleanups.push(() => session.destroy());
    const { headers, body } = await new Promise<{ headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = session.request({ ':method': 'GET', ':path': '/two', ':authority': 'web:80', 'l5d-orig-proto': 'HTTP/1.1', 'l5d-client-id': 'forged' });
      let b = '';
      let hs: IncomingHttpHeaders = {};
      req.on('response', (x) => (hs = x));
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => resolve({ headers: hs, body: b }));
      req.on('error', reject);
      req.end();
    });
    expect(headers[':status']).toBe(200);
    expect(headers['l5d-orig-proto']).toBe('HTTP/1.1');
    expect(body).toBe(`app saw GET /two HTTP/1.1 host=web:80 client-id=${CLIENT}`);

    // A plaintext client on the same proxy: whatever l5d-client-id it sends is stripped.
    const plain = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: p.inboundPort, path: '/three', headers: { 'l5d-client-id': 'forged' }, agent: false }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    expect(plain).toContain('client-id=-');

    const text = await p.metrics();
    expect(sample(text, 'request_total', `tls="true",client_id="${CLIENT}"`)).toBe(2);
    expect(sample(text, 'request_total', 'tls="no_identity",no_tls_reason="no_tls_from_remote"')).toBe(1);
  });

  it('serves the direct port: mTLS with the transport header naming the real port; without the header, without a client identity or in plaintext it is refused', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const p = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => p.proxy.close());
    const { port } = await app();
    p.inboundTarget = { ip: '127.0.0.1', port: p.inboundPort };
    await expect.poll(async () => (await fetch(`${p.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    const creds: Credentials = await pki.issue(CLIENT);
    const client = new MeshTls({ current: () => creds });
    const s = await connectOpaqueTransport(client, { addr: `127.0.0.1:${p.inboundPort}`, host: '127.0.0.1', port: p.inboundPort, serverId: WEB }, headerFor(port));
    const out = await rawExchange(s, 'GET /direct HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n');
    expect(out).toContain(`app saw GET /direct HTTP/1.1 host=db client-id=-`);

    // No NAT record for the connection (nothing redirected it): the socket's own address, the direct stack.
    p.inboundTarget = (sock) => {
      throw new NotRedirectedError('the connection has no NAT record: it was not redirected', { address: '127.0.0.1', port: sock.localPort ?? 0 });
    };
    const s2 = await connectOpaqueTransport(client, { addr: `127.0.0.1:${p.inboundPort}`, host: '127.0.0.1', port: p.inboundPort, serverId: WEB }, headerFor(port));
    expect(await rawExchange(s2, 'GET /unredirected HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n')).toContain('app saw GET /unredirected HTTP/1.1 host=db');

    // mTLS as a mesh identity, but no ALPN and no header: refused, as Linkerd refuses it.
    const noHeader = await client.connect({ addr: `127.0.0.1:${p.inboundPort}`, host: '127.0.0.1', port: p.inboundPort, serverId: WEB });
    expect(await rawExchange(noHeader, 'GET /nope HTTP/1.1\r\nHost: db\r\n\r\n')).toBe('');
    // TLS without a client certificate, and plaintext: no client identity.
    const anonymous = tlsConnect({ host: '127.0.0.1', port: p.inboundPort, servername: WEB, ca: creds.tls.ca, ALPNProtocols: [TRANSPORT_HEADER_ALPN], checkServerIdentity: () => undefined });
    await once(anonymous, 'secureConnect');
    expect(await rawExchange(anonymous, 'GET /nope HTTP/1.1\r\nHost: db\r\n\r\n')).toBe('');
    const refused = await new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port: p.inboundPort, path: '/nope', agent: false }, () => resolve('answered'));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      req.end();
    });
    expect(refused).not.toBe('answered');
    const text = await p.metrics();
    expect(sample(text, 'trellis_proxy_errors_total', 'direction="inbound",protocol="tcp",code="TRELLIS_ERR_TRANSPORT_HEADER_REQUIRED"')).toBe(1);
    expect(sample(text, 'trellis_proxy_errors_total', 'direction="inbound",protocol="tcp",code="TRELLIS_ERR_DIRECT_NO_IDENTITY"')).toBe(2);
    expect(text).not.toContain('TRELLIS_ERR_NOT_REDIRECTED');
  });
});

describe('meshed control-plane pod', () => {
  it("serves gRPC Certify from another proxy through the identity pod's own proxy (TLS verified as the identity name, no client certificate)", async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    // The identity pod's proxy carries the identity service's own name; its app answers in plaintext.
    const idProxy = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: IDENTITY_SVC_NAME });
    cleanups.push(() => idProxy.proxy.close());
    idProxy.inboundTarget = { ip: '127.0.0.1', port: Number(identity.addr.split(':')[1]) };
    await expect.poll(async () => (await fetch(`${idProxy.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    // Another proxy's Certify client, as for a non-loopback identity address: TLS verified as the identity name.
    const rpc = grpcCertify({ svcAddr: { ...controlAddr('X', `127.0.0.1:${idProxy.inboundPort}`), loopback: false }, svcName: IDENTITY_SVC_NAME, trustAnchorsPem: pki.trustAnchorsPem });
    cleanups.push(() => rpc.close());
    identity.accounts.set('web-token', WEB);
    const { privateKey, publicKey } = await generateKeyPair();
    const csr = await createCsr({ keys: { privateKey, publicKey }, dnsNames: [WEB] });
    const rsp = await rpc.certify({ identity: WEB, token: Buffer.from('web-token'), certificateSigningRequest: Buffer.from(csr) });
    expect(rsp.leafCertificate.length).toBeGreaterThan(0);
    expect(sample(await idProxy.metrics(), 'request_total', 'tls="true",client_id=""')).toBe(1);
  });
});
