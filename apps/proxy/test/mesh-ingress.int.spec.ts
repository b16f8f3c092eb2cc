// Ingress mode (LINKERD2_PROXY_INGRESS_MODE=true, what `linkerd.io/inject: ingress` renders): the ingress app sends
// every request to one address (here a plain "default backend"), and its proxy routes each request by its
// l5d-dst-override header, else its Host, through discovery by name to the service's endpoints over mTLS.
// l5d-require-id refuses an endpoint of another identity.
import { createServer, request } from 'node:http';
import { destination, tcpAddress } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn, sample } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy, type MeshedProxy } from './mesh-harness.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination } from './mesh-stub-destination.ts';

const INGRESS = 'ingress.default.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';
const AUTHORS = 'authors.default.serviceaccount.identity.trellis.cluster.local';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
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

const app = (name: string) =>
  createServer((req, res) => {
    res.end(`${name} saw ${req.url} host=${String(req.headers.host)} client-id=${String(req.headers['l5d-client-id'] ?? '-')} override=${String(req.headers['l5d-dst-override'] ?? '-')}`);
  });

async function ingressMesh() {
  const pki = await createMeshPki();
  const identity = await startFakeIdentity(pki, { tls: false });
  const dst = await startStubDestination(pki, { tls: false });
  cleanups.push(() => identity.close(), () => dst.close());
  const service = async (name: string, id: string): Promise<MeshedProxy> => {
    const p = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: id });
    cleanups.push(() => p.proxy.close());
    const a = app(name);
    p.inboundTarget = { ip: '127.0.0.1', port: await listenOn(a) };
    cleanups.push(() => a.close());
    const fqn = `${name}.default.svc.cluster.local`;
    dst.profiles.set(`${fqn}:80`, destination.DestinationProfile.fromPartial({ fullyQualifiedName: fqn }));
    dst.services.set(`${fqn}:80`, [
      destination.Update.fromPartial({
        update: {
          $case: 'add',
          value: {
            metricLabels: { namespace: 'default', service: name },
            addrs: [{ addr: tcpAddress('127.0.0.1', p.inboundPort), weight: 10000, tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: id } } }, protocolHint: { protocol: { $case: 'h2', value: {} } } }],
          },
        },
      }),
    ]);
    return p;
  };
  const books = await service('books', BOOKS);
  const authors = await service('authors', AUTHORS);
  const ingress = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: INGRESS, env: { LINKERD2_PROXY_INGRESS_MODE: 'true' } });
  cleanups.push(() => ingress.proxy.close());
  // Where the ingress app sends everything: a plain server outside the mesh.
  const fallback = app('default-backend');
  ingress.outboundTarget = { ip: '127.0.0.1', port: await listenOn(fallback) };
  cleanups.push(() => fallback.close());
  for (const p of [books, authors, ingress]) await expect.poll(async () => (await fetch(`${p.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);
  return { books, authors, ingress };
}

describe('ingress mode', () => {
  it('routes by Host to the named service over mTLS, by l5d-dst-override to another one (header removed), and nameless or unknown hosts to the original destination', async () => {
    const { books, authors, ingress } = await ingressMesh();
    const byHost = await get(ingress.outboundPort, '/b', { host: 'books.default.svc.cluster.local' });
    expect(byHost).toMatchObject({ status: 200, body: `books saw /b host=books.default.svc.cluster.local client-id=${INGRESS} override=-` });
    const overridden = await get(ingress.outboundPort, '/a', { host: 'books.default.svc.cluster.local', 'l5d-dst-override': 'authors.default.svc.cluster.local:80' });
    expect(overridden).toMatchObject({ status: 200, body: `authors saw /a host=books.default.svc.cluster.local client-id=${INGRESS} override=-` });
    expect((await get(ingress.outboundPort, '/x', { host: 'www.example.com' })).body).toBe('default-backend saw /x host=www.example.com client-id=- override=-');
    expect((await get(ingress.outboundPort, '/y', { host: '127.0.0.1' })).body).toBe('default-backend saw /y host=127.0.0.1 client-id=- override=-');
    // The meshed requests were mTLS with the service's identity, counted under the endpoint reached.
    const text = await ingress.metrics();
    expect(sample(text, 'request_total', `tls="true",server_id="${BOOKS}"`)).toBe(1);
    expect(sample(text, 'request_total', `tls="true",server_id="${AUTHORS}"`)).toBe(1);
    expect(sample(await books.metrics(), 'request_total', `tls="true",client_id="${INGRESS}"`)).toBe(1);
    expect(sample(await authors.metrics(), 'request_total', `tls="true",client_id="${INGRESS}"`)).toBe(1);
  });

  it("refuses with 502 a request whose l5d-require-id is not the endpoint's identity, and sends it when it is", async () => {
    const { ingress } = await ingressMesh();
    const wrong = await get(ingress.outboundPort, '/r', { host: 'books.default.svc.cluster.local', 'l5d-require-id': AUTHORS });
    expect(wrong.status).toBe(502);
    // An ingress answers clients outside the mesh: no l5d-proxy-error by default in ingress mode.
    expect(wrong.headers['l5d-proxy-error']).toBeUndefined();
    const right = await get(ingress.outboundPort, '/r', { host: 'books.default.svc.cluster.local', 'l5d-require-id': BOOKS });
    expect(right.status).toBe(200);
    expect(right.body).toContain('books saw /r');
  });
});
