// Balancing over real mTLS HTTP/2 endpoints: two peers behind our TLS layer, one 10x slower; one connection
// (one handshake) per endpoint for hundreds of requests; a dropped connection is re-established.
import { Agent, createServer as h1Server, request as h1Request, type ClientRequestArgs } from 'node:http';
import { createServer as h2Server, type ClientHttp2Session, type Http2Server } from 'node:http2';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Balancer } from '../src/balance/p2c.ts';
import { H2Endpoint } from '../src/balance/h2-endpoint.ts';
import { Backoff } from '../src/discovery/backoff.ts';
import { detectTls } from '../src/tls/detect.ts';
import { asPriorKnowledgeH2 } from '../src/tls/h2-prior-knowledge.ts';
import { acceptInboundTls } from '../src/tls/inbound.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { createMeshPki } from './mesh-pki.ts';

const CLIENT = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const SERVER = 'emoji.emojivoto.serviceaccount.identity.trellis.cluster.local';

interface Peer {
  readonly port: number;
  handshakes: number;
  readonly net: Server;
  readonly h2: Http2Server;
}

let clientTls: MeshTls;
let serverTls: MeshTls;
const peers: Peer[] = [];

async function startPeer(delayMs: number): Promise<Peer> {
  const h2 = h2Server();
  h2.on('stream', (stream) => {
    setTimeout(() => {
      if (stream.destroyed) return;
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }, delayMs);
  });
  const peer = { port: 0, handshakes: 0, h2 } as Peer & { net: Server };
  const server = createServer(async (socket) => {
    socket.on('error', () => undefined);
    const d = await detectTls(socket, serverTls.localName, 1_000);
    if (d.kind !== 'terminate') return socket.destroy();
    const t = await serverTls.terminate(socket);
    peer.handshakes++;
    h2.emit('connection', asPriorKnowledgeH2(t.socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  Object.assign(peer, { net: server, port: (server.address() as AddressInfo).port });
  peers.push(peer);
  return peer;
}

beforeAll(async () => {
  const pki = await createMeshPki();
  const c = await pki.issue(CLIENT);
  const s = await pki.issue(SERVER);
  clientTls = new MeshTls({ current: () => c });
  serverTls = new MeshTls({ current: () => s });
});
afterAll(() => {
  for (const p of peers) {
    p.net.close();
    p.h2.close();
  }
});

const get = (session: ClientHttp2Session, onFirstByte: () => void) =>
  new Promise<number>((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.once('data', onFirstByte);
    req.on('end', () => resolve(status));
    req.on('error', reject);
    req.resume();
  });

function endpointFor(b: Balancer<H2Endpoint>, key: string, port: number, transitions: boolean[] = []) {
  const ep = new H2Endpoint({
    target: { addr: `127.0.0.1:${port}`, ip: '127.0.0.1', port, identity: SERVER, serverName: undefined },
    tls: clientTls,
    onReady: (ready) => {
      transitions.push(ready);
      b.setReady(key, ready);
    },
    backoff: new Backoff({ minMs: 20, maxMs: 200 }),
  });
  b.add(key, ep);
  return ep;
}

describe('balancing over mTLS HTTP/2 endpoints', () => {
  it('sends most requests to the fast peer, over one TLS connection per peer', async () => {
    // Delays large enough that TLS and HTTP/2 overhead on a busy machine do not blur the 10x difference.
    const fast = await startPeer(5);
    const slow = await startPeer(50);
    const b = new Balancer<H2Endpoint>({ name: 'emoji' });
    endpointFor(b, 'fast', fast.port);
    endpointFor(b, 'slow', slow.port);
    const counts = { fast: 0, slow: 0 } as Record<string, number>;
    let failed = 0;
    let next = 0;
    const total = 300;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < total) {
          const p = await b.acquire();
          counts[p.key] = (counts[p.key] ?? 0) + 1;
          const status = await get(await p.endpoint.session(), p.firstByte).catch(() => 0);
          if (status !== 200) failed++;
          p.done(status === 200);
        }
      }),
    );
    expect(failed).toBe(0);
    expect((counts['fast'] ?? 0) / total).toBeGreaterThan(0.7);
    expect([fast.handshakes, slow.handshakes]).toEqual([1, 1]);
  });

  it('re-establishes a lost connection and marks the endpoint ready again', async () => {
    const peer = await startPeer(0);
    const b = new Balancer<H2Endpoint>({ name: 'emoji' });
    const transitions: boolean[] = [];
    const ep = endpointFor(b, 'a', peer.port, transitions);
    const session = await ep.session();
    expect(await get(session, () => undefined)).toBe(200);
    session.destroy();
    await expect.poll(() => transitions, { timeout: 5_000 }).toEqual([true, false, true]);
    expect(b.snapshot()[0]?.ready).toBe(true);
    expect(await get(await ep.session(), () => undefined)).toBe(200);
    expect(peer.handshakes).toBe(2);
  });
});

describe('HTTP/1 over mTLS (endpoints without the h2 hint)', () => {
  it('pools keep-alive connections: many requests, one handshake', async () => {
    let handshakes = 0;
    const clientIds = new Set<string>();
    const app = h1Server((req, res) => res.end(`hello ${String(req.headers['l5d-client-id'] ?? '')}`));
    const server = createServer((socket) =>
      acceptInboundTls(socket, serverTls, 1_000, {
        meshed: (tls, clientId) => {
          handshakes++;
          clientIds.add(clientId);
          app.emit('connection', tls);
        },
        passthrough: (s) => s.destroy(),
        plaintext: (s) => s.destroy(),
        failed: () => undefined,
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    // What an HTTP/1 agent for a meshed endpoint does: createConnection returns the TLS socket.
    class MeshAgent extends Agent {
      override createConnection = (_o: ClientRequestArgs): Socket => clientTls.socket({ addr: `127.0.0.1:${port}`, host: '127.0.0.1', port, serverId: SERVER });
    }
    const agent = new MeshAgent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        const req = h1Request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    for (let i = 0; i < 50; i++) expect(await get()).toBe('hello ');
    expect(handshakes).toBe(1);
    expect([...clientIds]).toEqual([CLIENT]);
    agent.destroy();
    server.close();
  });

  it('fails the pooled request with the typed 502 error when the peer is someone else', async () => {
    const server = createServer((socket) =>
      acceptInboundTls(socket, serverTls, 1_000, { meshed: (tls) => tls.destroy(), passthrough: (s) => s.destroy(), plaintext: (s) => s.destroy(), failed: () => undefined }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    class MeshAgent extends Agent {
      override createConnection = (_o: ClientRequestArgs): Socket =>
        clientTls.socket({ addr: `127.0.0.1:${port}`, host: '127.0.0.1', port, serverName: SERVER, serverId: 'other.emojivoto.serviceaccount.identity.trellis.cluster.local' });
    }
    const err = await new Promise<unknown>((resolve) => {
      const req = h1Request({ host: '127.0.0.1', port, path: '/', agent: new MeshAgent() }, () => resolve(undefined));
      req.on('error', resolve);
      req.end();
    });
    expect(err).toMatchObject({ code: 'TRELLIS_ERR_TLS_ID_MISMATCH', httpStatus: 502 });
    server.close();
  });
});
