// Taps on the outbound side of a meshed proxy: the request is matched once the balancer picked its endpoint, so
// destination-label matches see the endpoint's discovery labels, and the events name the endpoint and the
// identity its certificate was checked against.
import { createServer, request } from 'node:http';
import { destination, tcpAddress } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination } from './mesh-stub-destination.ts';
import { kindsOf, match, observe, pathsOf, tapClient } from './tap-client.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';
const TAP = 'tap.trellis-viz.serviceaccount.identity.trellis.cluster.local';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: 'books.default.svc.cluster.local' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('tap on the outbound side', () => {
  it('matches destination labels of the endpoint picked and reports its address, labels and server identity', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const server = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: BOOKS });
    cleanups.push(() => server.proxy.close());
    const client = await startMeshedProxy({
      pki,
      identitySvc: identity,
      destination: dst,
      identity: WEB,
      env: { LINKERD2_PROXY_TAP_SVC_NAME: TAP, LINKERD2_PROXY_CONTROL_LISTEN_ADDR: '127.0.0.1:0' },
    });
    cleanups.push(() => client.proxy.close());
    const app = createServer((_req, res) => res.end('a book of 22 characters'));
    server.inboundTarget = { ip: '127.0.0.1', port: await listenOn(app) };
    cleanups.push(() => app.close());
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
                metricLabels: { pod: 'books-0', deployment: 'books' },
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
    // The first request resolves the target; taps watch the ones after.
    expect(await get(client.outboundPort, '/warm')).toBe(200);

    const tc = tapClient(client.proxy.control?.port ?? 0, await pki.issue(TAP), WEB);
    cleanups.push(() => tc.close());
    const label = (key: string, value: string) => ({ match: { $case: 'destinationLabel' as const, value: { key, value } } });
    const books = observe(tc, { limit: 2, match: match.all(label('deployment', 'books'), match.pathPrefix('/books/')), extract: undefined });
    const other = observe(tc, { limit: 1, match: label('deployment', 'voting'), extract: undefined }, 3000);
    let n = 0;
    let done = false;
    void books.then(() => (done = true));
    while (!done) expect(await get(client.outboundPort, `/books/${n++}`)).toBe(200);
    const [r, o] = [await books, await other];
    expect(r.code).toBe(0);
    expect(kindsOf(r.events)).toEqual(['requestInit', 'responseInit', 'responseEnd', 'requestInit', 'responseInit', 'responseEnd']);
    // The tap opens while requests are already flowing: two consecutive ones.
    const paths = pathsOf(r.events);
    expect(paths).toHaveLength(2);
    expect(paths.map((p) => Number(p.replace('/books/', '')))).toEqual([Number(paths[0]?.slice(7)), Number(paths[0]?.slice(7)) + 1]);
    const init = r.events[0];
    expect(init?.proxyDirection).toBe(2);
    expect(init?.destination?.port).toBe(server.inboundPort);
    expect(init?.destinationMeta?.labels).toMatchObject({ deployment: 'books', pod: 'books-0', namespace: 'default', tls: 'true', server_id: BOOKS });
    expect(init?.sourceMeta?.labels).toEqual({ tls: 'loopback' });
    const end = r.events[2]?.event?.value.event;
    expect(end?.$case === 'responseEnd' && end.value.responseBytes).toBe(23n);
    expect(o).toMatchObject({ code: 1, events: [] });
  });
});
