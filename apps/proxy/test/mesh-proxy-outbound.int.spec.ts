// Two meshed proxies started as the injector starts them, wired by the stub destination: the app's plain
// HTTP/1 request to a service's cluster IP leaves the client proxy balanced over the service's endpoints,
// upgraded to HTTP/2 inside mTLS, and reaches the server app downgraded, with the client's verified identity.
import { createServer, request } from 'node:http';
import { destination, tcpAddress } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn, sample } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination } from './mesh-stub-destination.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('meshed proxy outbound', () => {
  it('sends a service request through the balancer over pooled mTLS HTTP/2 to the peer proxy, which downgrades it', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const server = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: BOOKS });
    cleanups.push(() => server.proxy.close());
    const client = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => client.proxy.close());
    const app = createServer((req, res) => {
      res.setHeader('x-app', 'books');
      res.end(`books saw ${req.method} ${req.url} HTTP/${req.httpVersion} host=${String(req.headers.host)} client-id=${String(req.headers['l5d-client-id'] ?? '-')}`);
    });
    const appPort = await listenOn(app);
    cleanups.push(() => app.close());
    server.inboundTarget = { ip: '127.0.0.1', port: appPort };

    dst.profiles.set('10.96.0.10:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local' }));
    dst.services.set('books.default.svc.cluster.local:80', [
      destination.Update.fromPartial({
        update: {
          $case: 'add',
          value: {
            metricLabels: { namespace: 'default', service: 'books' },
            addrs: [
              {
                addr: tcpAddress('127.0.0.1', server.inboundPort),
                weight: 10000,
                tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } },
                protocolHint: { protocol: { $case: 'h2', value: {} } },
              },
            ],
          },
        },
      }),
    ]);
    client.outboundTarget = { ip: '10.96.0.10', port: 80 };
    for (const p of [server, client]) await expect.poll(async () => (await fetch(`${p.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    for (let i = 0; i < 3; i++) {
      const res = await get(client.outboundPort, `/books/${i}`, { host: 'books.default.svc.cluster.local', 'l5d-client-id': 'spoofed' });
      expect(res.status).toBe(200);
      expect(res.body).toBe(`books saw GET /books/${i} HTTP/1.1 host=books.default.svc.cluster.local client-id=${WEB}`);
      expect(res.headers['x-app']).toBe('books');
      expect(res.headers['l5d-orig-proto']).toBeUndefined();
    }
    const text = await server.metrics();
    expect(sample(text, 'request_total', `tls="true",client_id="${WEB}"`)).toBe(3);
    // One mTLS connection carried all three requests.
    expect(sample(text, 'tcp_open_total', `tls="true",client_id="${WEB}"`)).toBe(1);
  });

  it('forwards a destination discovery does not know to the original destination, as in plaintext mode', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const client = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => client.proxy.close());
    const app = createServer((req, res) => res.end(`plain saw ${req.url}`));
    const appPort = await listenOn(app);
    cleanups.push(() => app.close());
    client.outboundTarget = { ip: '127.0.0.1', port: appPort };
    await expect.poll(async () => (await fetch(`${client.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);
    const res = await get(client.outboundPort, '/x');
    expect(res.body).toBe('plain saw /x');
    expect(dst.requests.some((r) => r.method === 'getProfile' && r.path === `127.0.0.1:${appPort}`)).toBe(true);
  });
});
