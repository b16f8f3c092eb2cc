// Host across the HTTP/1 -> HTTP/2 upgrade between proxies (docs/reference/orig-proto.md). The client proxy must
// keep the app's Host as a `host` header inside the upgraded request (a Linkerd server proxy writes the app's
// Host from that header only), on the profile path and the policy path alike; the server proxy must write
// the downgraded request with exactly one Host line, which only the raw bytes an app receives can show.
import { once } from 'node:events';
import { createServer as createH2Server, type IncomingHttpHeaders } from 'node:http2';
import { connect as h2Connect } from 'node:http2';
import { createServer as createNetServer, type Socket } from 'node:net';
import { request } from 'node:http';
import { destination, tcpAddress } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { asPriorKnowledgeH2 } from '../src/tls/h2-prior-knowledge.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { listenOn } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { authority, cleanups, httpPolicy, meshed, toOne } from './mesh-policy-harness.ts';
import { startStubDestination, type StubDestination } from './mesh-stub-destination.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';
const HOST = 'books.default.svc.cluster.local';

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A strict HTTP/1.1 app that keeps the raw head of every request and answers 400 unless it has exactly one Host. */
async function rawApp(): Promise<{ port: number; heads: string[] }> {
  const heads: string[] = [];
  const server = createNetServer((s: Socket) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end + 2);
      heads.push(head);
      buf = '';
      const hosts = hostLines(head).length;
      const body = hosts === 1 ? 'one host' : `${hosts} host lines`;
      s.end(`HTTP/1.1 ${hosts === 1 ? '200 OK' : '400 Bad Request'}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    });
    s.on('error', () => undefined);
  });
  const port = await listenOn(server);
  cleanups.push(() => server.close());
  return { port, heads };
}

const hostLines = (head: string) => head.split('\r\n').filter((l) => /^host\s*:/i.test(l));

/** A peer proxy that terminates mTLS as BOOKS and records the HTTP/2 requests it gets (what another proxy's inbound reads). */
async function h2Peer(pki: MeshPki): Promise<{ port: number; seen: IncomingHttpHeaders[] }> {
  const creds = await pki.issue(BOOKS);
  const tls = new MeshTls({ current: () => creds });
  const seen: IncomingHttpHeaders[] = [];
  const h2 = createH2Server();
  h2.on('stream', (stream, headers) => {
    seen.push(headers);
    stream.respond({ ':status': 200, 'l5d-orig-proto': 'HTTP/1.1' });
    stream.end('peer');
  });
  const server = createNetServer((socket) => {
    socket.on('error', () => undefined);
    tls.terminate(socket).then(
      (t) => h2.emit('connection', asPriorKnowledgeH2(t.socket)),
      () => socket.destroy(),
    );
  });
  const port = await listenOn(server);
  cleanups.push(() => server.close());
  return { port, seen };
}

function meshedEndpoint(dst: StubDestination, svc: string, port: number): void {
  dst.services.set(svc, [
    destination.Update.fromPartial({
      update: {
        $case: 'add',
        value: {
          metricLabels: { namespace: 'default', service: 'books' },
          addrs: [
            {
              addr: tcpAddress('127.0.0.1', port),
              weight: 10000,
              tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } },
              protocolHint: { protocol: { $case: 'h2', value: {} } },
            },
          ],
        },
      },
    }),
  ]);
}

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Only the headers a peer proxy acts on, to compare whole. */
const upgraded = (h: IncomingHttpHeaders | undefined) => ({
  ':authority': h?.[':authority'],
  host: h?.host,
  'l5d-orig-proto': h?.['l5d-orig-proto'],
  'x-hop': h?.['x-hop'],
  'transfer-encoding': h?.['transfer-encoding'],
});

describe('Host across orig-proto', () => {
  it('keeps the app’s Host as a host header in the upgraded request on the profile path, dropping what Connection lists', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const client = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => client.proxy.close());
    const peer = await h2Peer(pki);
    dst.profiles.set('10.96.0.10:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: HOST }));
    meshedEndpoint(dst, `${HOST}:80`, peer.port);
    client.outboundTarget = { ip: '10.96.0.10', port: 80 };
    await expect.poll(async () => (await fetch(`${client.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    expect(await get(client.outboundPort, '/p', { host: HOST, connection: 'x-hop', 'x-hop': '1' })).toEqual({ status: 200, body: 'peer' });
    expect(upgraded(peer.seen[0])).toEqual({ ':authority': HOST, host: HOST, 'l5d-orig-proto': 'HTTP/1.1', 'x-hop': undefined, 'transfer-encoding': undefined });
  });

  it('keeps the app’s Host as a host header in the upgraded request on the policy path', async () => {
    const { proxy, dst, policy, pki } = await meshed();
    const peer = await h2Peer(pki);
    meshedEndpoint(dst, authority('books'), peer.port);
    policy.answers.set('10.96.0.10:80', httpPolicy([{ matches: [{ path: { kind: { $case: 'prefix', value: '/' } } }], backends: toOne('books') }]));

    expect(await get(proxy.outboundPort, '/p', { host: HOST, connection: 'x-hop', 'x-hop': '1' })).toEqual({ status: 200, body: 'peer' });
    expect(upgraded(peer.seen[0])).toEqual({ ':authority': HOST, host: HOST, 'l5d-orig-proto': 'HTTP/1.1', 'x-hop': undefined, 'transfer-encoding': undefined });
  });

  it('writes a downgraded request with one Host: the request’s own host header, else :authority (raw bytes at the app)', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const server = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: BOOKS });
    cleanups.push(() => server.proxy.close());
    const app = await rawApp();
    server.inboundTarget = { ip: '127.0.0.1', port: app.port };
    await expect.poll(async () => (await fetch(`${server.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    // A client proxy upgrading the way Linkerd's does: host kept beside :authority.
    const creds = await pki.issue(WEB);
    const peer = { addr: `127.0.0.1:${server.inboundPort}`, host: '127.0.0.1', port: server.inboundPort, serverId: BOOKS };
    const session = h2Connect('http://books', { createConnection: () => asPriorKnowledgeH2(new MeshTls({ current: () => creds }).socket(peer)) });
    cleanups.push(() => session.destroy());
    const send = async (headers: Record<string, string>, streamed: boolean) => {
      const req = session.request({ ':method': 'GET', ':path': '/h', 'l5d-orig-proto': 'HTTP/1.1', ...headers }, { endStream: !streamed });
      // A GET whose stream stays open for a body takes the node:http client; one that ends at once the lean one.
      if (streamed) req.end();
      const [h] = (await once(req, 'response')) as [IncomingHttpHeaders];
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      await once(req, 'end');
      return { status: h[':status'], body };
    };
    for (const streamed of [false, true]) {
      app.heads.length = 0;
      expect(await send({ ':authority': 'books:80', host: `${HOST}:80` }, streamed)).toEqual({ status: 200, body: 'one host' });
      expect(await send({ ':authority': 'books:80' }, streamed)).toEqual({ status: 200, body: 'one host' });
      expect(app.heads.map(hostLines)).toEqual([[`host: ${HOST}:80`], ['host: books:80']]);
    }
  });

  it('delivers an app’s HTTP/1 request through two Trellis proxies with exactly one Host line', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const server = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: BOOKS });
    cleanups.push(() => server.proxy.close());
    const client = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => client.proxy.close());
    const app = await rawApp();
    server.inboundTarget = { ip: '127.0.0.1', port: app.port };
    dst.profiles.set('10.96.0.10:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: HOST }));
    meshedEndpoint(dst, `${HOST}:80`, server.inboundPort);
    client.outboundTarget = { ip: '10.96.0.10', port: 80 };
    for (const p of [server, client]) await expect.poll(async () => (await fetch(`${p.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    expect(await get(client.outboundPort, '/t', { host: HOST })).toEqual({ status: 200, body: 'one host' });
    expect(app.heads.map(hostLines)).toEqual([[`host: ${HOST}`]]);
    expect(app.heads[0]).toMatch(/^GET \/t HTTP\/1\.1\r\n/);
  });
});
