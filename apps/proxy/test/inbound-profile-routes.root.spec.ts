// Inbound ServiceProfile route metrics on the real path: two pods in network namespaces with proxy-init's rules,
// each with a Trellis proxy process (meshed: certificates from an Identity/Certify server, discovery from a
// Destination stub over mTLS, both run by the test on the host). The client's proxy routes an unmodified client's
// request to the service by its profile and adds l5d-dst-canonical; the server's proxy looks that name's profile
// up and counts the request under its route with direction="inbound". A client outside the mesh that only sends
// Host (the service's name) is counted the same way. Needs root (namespaces, iptables), as CI has.
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { destination, tcpAddress } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { startFakeIdentity, type FakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination, type StubDestination } from './mesh-stub-destination.ts';
import { client, metricsOf, startApp, type Pod } from './netns.ts';
import { linkedPods, meshDir, proxyReady, startMeshedPodProxy, tearDownMesh } from './netns-mesh.ts';

const WEB = 'web.test.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.test.serviceaccount.identity.trellis.cluster.local';
const SERVICE_IP = '10.96.0.10';
const FQN = 'books.test.svc.cluster.local';
const LINKS = { client: ['10.245.94.1', '10.245.94.2'], server: ['10.245.94.5', '10.245.94.6'] } as const;

let pods: { client: Pod; server: Pod };
const made: Pod[] = [];
let dir: string | undefined;
let identity: FakeIdentity | undefined;
let dst: StubDestination | undefined;
const children: (ChildProcess | undefined)[] = [];

/** books' ServiceProfile: GET /books/{id} and POST /orders (404 a failure); anything else is the default route. */
const PROFILE = destination.DestinationProfile.fromPartial({
  fullyQualifiedName: FQN,
  routes: [
    { metricsLabels: { route: 'GET /books/{id}' }, condition: { match: { $case: 'all', value: { matches: [{ match: { $case: 'method', value: { type: { $case: 'registered', value: 0 } } } }, { match: { $case: 'path', value: { regex: '/books/[^/]+' } } }] } } } },
    { metricsLabels: { route: 'POST /orders' }, condition: { match: { $case: 'path', value: { regex: '/orders' } } } },
  ],
});

function endpoint(pod: Pod, port: number): destination.Update {
  return destination.Update.fromPartial({
    update: {
      $case: 'add',
      value: {
        metricLabels: { namespace: 'test', service: 'books' },
        addrs: [{ addr: tcpAddress(pod.ip, port), weight: 10000, metricLabels: { pod: 'books-0' }, tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } }, protocolHint: { protocol: { $case: 'h2', value: {} } } }],
      },
    },
  });
}

const cleanup = () => tearDownMesh(children, [identity, dst], made, dir);

beforeAll(async () => {
  const pki = await createMeshPki();
  dir = await meshDir('trellis-inbound-routes-');
  pods = await linkedPods(94, 'tri', LINKS);
  made.push(pods.client, pods.server);
  try {
    identity = await startFakeIdentity(pki, { host: '0.0.0.0' });
    dst = await startStubDestination(pki, { host: '0.0.0.0' });
    // The client's proxy looks the service address up; the server's proxy looks the service's name up.
    dst.profiles.set(`${SERVICE_IP}:8080`, PROFILE);
    dst.profiles.set(`${FQN}:8080`, PROFILE);
    dst.services.set(`${FQN}:8080`, [endpoint(pods.server, 8080)]);
    const control = { dir, pki, identity, dst };
    children.push(await startApp(pods.server));
    children.push(await startMeshedPodProxy(control, pods.server, BOOKS, LINKS.server));
    children.push(await startMeshedPodProxy(control, pods.client, WEB, LINKS.client));
    for (const p of [pods.client, pods.server]) await proxyReady(p, Date.now() + 20_000);
  } catch (err) {
    await cleanup();
    throw err;
  }
}, 90_000);

afterAll(cleanup, 30_000);

/** A plain HTTP/1 request from the host, outside the mesh, to the server pod with only this Host. */
function fromHost(method: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LINKS.server[1], port: 8080, method, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const DST = `direction="inbound",dst="${FQN}:8080"`;

describe('inbound ServiceProfile route metrics', () => {
  it("counts a meshed client's requests under the route of the profile its proxy named in l5d-dst-canonical", async () => {
    for (const id of ['1', '2', '3']) expect(await client(pods.client, 'get', SERVICE_IP, '8080', `/books/${id}`)).toMatchObject({ status: 200, body: `hello GET /books/${id}` });
    expect(await client(pods.client, 'get', SERVICE_IP, '8080', '/authors')).toMatchObject({ status: 200 });
    const text = await metricsOf(pods.server);
    expect(sample(text, 'route_request_total', `{${DST},rt_route="GET /books/{id}"}`)).toBe(3);
    expect(sample(text, 'route_response_total', `{${DST},rt_route="GET /books/{id}",status_code="200",classification="success"}`)).toBe(3);
    expect(sample(text, 'route_response_latency_ms_count', `{${DST},rt_route="GET /books/{id}",status_code="200"}`)).toBe(3);
    // /authors matches no route: the default route, without rt_route.
    expect(sample(text, 'route_request_total', `{${DST}}`)).toBe(1);
    // The server proxy sends each request once: no route_actual_* inbound.
    expect(text).not.toContain('route_actual_request_total{direction="inbound"');
    // The client's proxy counted the same requests outbound.
    expect(sample(await metricsOf(pods.client), 'route_request_total', `{direction="outbound",dst="${FQN}:8080",rt_route="GET /books/{id}"}`)).toBe(3);
  });

  it('counts a plain client that only sends Host under the route of the profile that Host names', async () => {
    for (let i = 0; i < 2; i++) expect((await fromHost('POST', '/orders', `${FQN}:8080`)).status).toBe(200);
    // Without a port, the name takes the port the request reached.
    expect((await fromHost('GET', '/books/9', FQN)).status).toBe(200);
    // A Host that names no Service with a profile is counted nowhere.
    expect((await fromHost('GET', '/books/9', `${LINKS.server[1]}:8080`)).status).toBe(200);
    const text = await metricsOf(pods.server);
    expect(sample(text, 'route_response_total', `{${DST},rt_route="POST /orders",status_code="200",classification="success"}`)).toBe(2);
    expect(sample(text, 'route_request_total', `{${DST},rt_route="GET /books/{id}"}`)).toBe(4);
    expect(text.split('\n').filter((l) => l.startsWith('route_request_total{direction="inbound"') && !l.includes(`dst="${FQN}:8080"`))).toEqual([]);
    // One profile stream for the name, however many requests used it.
    expect((dst as StubDestination).requests.filter((r) => r.method === 'getProfile' && r.path === `${FQN}:8080`)).toHaveLength(1);
  });
});
