// Two meshed proxies started as the injector starts them, wired by the stub destination: the app's plain
// HTTP/1 request to a service's cluster IP leaves the client proxy balanced over the service's endpoints,
// upgraded to HTTP/2 inside mTLS, and reaches the server app downgraded, with the client's verified identity.
import { createServer, request } from 'node:http';
import { connect as h2Connect, createServer as h2CreateServer } from 'node:http2';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import { destination, tcpAddress } from '@trellis/proto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
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

async function twoProxies(profile: Parameters<typeof destination.DestinationProfile.fromPartial>[0] = {}, clientEnv: Record<string, string> = {}) {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const server = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: BOOKS, env: modeEnv });
    cleanups.push(() => server.proxy.close());
    const client = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB, env: { ...modeEnv, ...clientEnv } });
    cleanups.push(() => client.proxy.close());
    let flaky = 0;
    const app = createServer((req, res) => {
      res.setHeader('x-app', 'books');
      // Every other /flaky request fails; /slow answers after a second.
      if (req.url === '/flaky' && flaky++ % 2 === 0) {
        res.statusCode = 500;
        return res.end('boom');
      }
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 1_000).unref();
      if (req.url === '/canonical') return res.end(`canonical=${String(req.headers['l5d-dst-canonical'] ?? '-')}`);
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => res.end(`books got ${body.length} bytes ending ${body.slice(-5)}`));
        return;
      }
      res.end(`books saw ${req.method} ${req.url} HTTP/${req.httpVersion} host=${String(req.headers.host)} client-id=${String(req.headers['l5d-client-id'] ?? '-')}`);
    });
    const appPort = await listenOn(app);
    cleanups.push(() => app.close());
    server.inboundTarget = { ip: '127.0.0.1', port: appPort };

    dst.profiles.set('10.96.0.10:80', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local', ...profile }));
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
    return { server, client, dst };
}

/** The proxies' setting of HTTP/1 between proxies, per pass of the suite below. */
let modeEnv: Record<string, string> = {};

// The suite runs twice: HTTP/1 upgraded to HTTP/2 between the proxies (the default), then with
// TRELLIS_PROXY_MESH_HTTP1 (HTTP/1 over pooled mTLS connections); every behaviour must be the same.
for (const [mode, env] of [['', {}], [' (TRELLIS_PROXY_MESH_HTTP1)', { TRELLIS_PROXY_MESH_HTTP1: 'true' }]] as const) {
describe(`meshed proxy outbound${mode}`, () => {
  beforeAll(() => {
    modeEnv = env;
  });

  it('sends a service request through the balancer over pooled mTLS HTTP/2 to the peer proxy, which downgrades it', async () => {
    const { server, client } = await twoProxies();
    for (let i = 0; i < 3; i++) {
      const res = await get(client.outboundPort, `/books/${i}`, { host: 'books.default.svc.cluster.local', 'l5d-client-id': 'spoofed' });
      expect(res.status).toBe(200);
      expect(res.body).toBe(`books saw GET /books/${i} HTTP/1.1 host=books.default.svc.cluster.local client-id=${WEB}`);
      expect(res.headers['x-app']).toBe('books');
      expect(res.headers['l5d-orig-proto']).toBeUndefined();
    }
    // A request body (chunked, larger than one frame) streams through the upgrade.
    const posted = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: client.outboundPort, path: '/upload', method: 'POST', headers: { host: 'books.default.svc.cluster.local' } }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(10_000));
      req.end('THEND');
    });
    expect(posted).toBe('books got 100005 bytes ending THEND');
    const text = await server.metrics();
    expect(sample(text, 'request_total', `tls="true",client_id="${WEB}"`)).toBe(4);
    // One mTLS connection carried all three requests.
    expect(sample(text, 'tcp_open_total', `tls="true",client_id="${WEB}"`)).toBe(1);
  });

  it('counts outbound requests and connections under the endpoint reached: its address, tls="true" with server_id, dst_ labels', async () => {
    const { server, client } = await twoProxies();
    for (let i = 0; i < 2; i++) expect((await get(client.outboundPort, `/books/${i}`, { host: 'books.default.svc.cluster.local' })).status).toBe(200);
    const text = await client.metrics();
    const port = server.inboundPort;
    const labels = `direction="outbound",authority="books.default.svc.cluster.local:80",target_addr="127.0.0.1:${port}",target_ip="127.0.0.1",target_port="${port}",tls="true",server_id="${BOOKS}",dst_namespace="default",dst_service="books"`;
    expect(text).toContain(`request_total{${labels}} 2`);
    expect(text).toContain(`response_total{${labels},status_code="200",classification="success",grpc_status="",error=""} 2`);
    expect(text).toContain(`tcp_open_total{direction="outbound",peer="dst",authority="books.default.svc.cluster.local:80",target_addr="127.0.0.1:${port}",target_ip="127.0.0.1",target_port="${port}",tls="true",server_id="${BOOKS}",dst_namespace="default",dst_service="books"} 1`);
    // Nothing meshed is reported as plaintext.
    expect(text.split('\n').filter((l) => /^(request|response)_total\{direction="outbound"/.test(l) && l.includes('no_tls_reason'))).toEqual([]);
  });

  it('applies the profile: a retryable route recovers failed responses, a route timeout answers 504, route metrics count both', async () => {
    const { client } = await twoProxies({
      routes: [
        { metricsLabels: { route: 'flaky' }, condition: { match: { $case: 'path', value: { regex: '/flaky' } } }, isRetryable: true },
        { metricsLabels: { route: 'slow' }, condition: { match: { $case: 'path', value: { regex: '/slow' } } }, timeout: { seconds: 0n, nanos: 200_000_000 } },
      ],
    });
    for (let i = 0; i < 4; i++) expect((await get(client.outboundPort, '/flaky', { host: 'books.default.svc.cluster.local' })).status).toBe(200);
    // A small request body is buffered and sent again in full on the retry.
    for (let i = 0; i < 2; i++) {
      const posted = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: client.outboundPort, path: '/flaky', method: 'POST', headers: { host: 'books.default.svc.cluster.local' } }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        });
        req.on('error', reject);
        req.write('x'.repeat(1000));
        req.end('hello');
      });
      expect(posted).toEqual({ status: 200, body: 'books got 1005 bytes ending hello' });
    }
    const started = performance.now();
    const slow = await get(client.outboundPort, '/slow', { host: 'books.default.svc.cluster.local' });
    expect(slow.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(900);
    const text = await client.metrics();
    expect(sample(text, 'route_request_total', 'rt_route="flaky"')).toBe(6);
    expect(sample(text, 'route_actual_request_total', 'rt_route="flaky"')).toBe(12);
    expect(sample(text, 'route_response_total', 'rt_route="flaky",status_code="200",classification="success"')).toBe(6);
    expect(sample(text, 'route_response_total', 'rt_route="slow",status_code="504"')).toBe(1);
  });

  it("sets l5d-dst-canonical to the profile's service name on the requests it routes, HTTP/1 and HTTP/2, replacing the app's", async () => {
    const plain = await twoProxies();
    const h1 = await get(plain.client.outboundPort, '/canonical', { host: 'books.default.svc.cluster.local', 'l5d-dst-canonical': 'spoofed.example:1' });
    expect(h1.body).toBe('canonical=books.default.svc.cluster.local:80');
    // Native HTTP/2 through a second pair whose server app speaks HTTP/2.
    const { server, client } = await twoProxies();
    const app = h2CreateServer();
    app.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`canonical=${String(headers['l5d-dst-canonical'] ?? '-')}`);
    });
    const appPort = await listenOn(app);
    cleanups.push(() => app.close());
    server.inboundTarget = { ip: '127.0.0.1', port: appPort };
    const session = h2Connect(`http://127.0.0.1:${client.outboundPort}`);
    cleanups.push(() => session.destroy());
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':method': 'GET', ':path': '/canonical', ':authority': 'books.default.svc.cluster.local:80' });
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => resolve(b));
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('canonical=books.default.svc.cluster.local:80');
  });

  it('carries native HTTP/2 (gRPC-style, with trailers) through both proxies over the pooled mTLS connection, under the profile routes', async () => {
    const { server, client } = await twoProxies({
      routes: [
        { metricsLabels: { route: 'Get' }, condition: { match: { $case: 'path', value: { regex: '/books.Books/Get' } } } },
        { metricsLabels: { route: 'Slow' }, condition: { match: { $case: 'path', value: { regex: '/books.Books/Slow' } } }, timeout: { seconds: 0n, nanos: 200_000_000 } },
      ],
    });
    const app = h2CreateServer();
    app.on('stream', (stream, headers) => {
      if (headers[':path'] === '/books.Books/Slow') {
        setTimeout(() => {
          if (!stream.destroyed) stream.respond({ ':status': 200 }, { endStream: true });
        }, 1_000).unref();
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(`h2 app saw ${String(headers[':path'])} client-id=${String(headers['l5d-client-id'] ?? '-')}`);
    });
    const appPort = await listenOn(app);
    cleanups.push(() => app.close());
    server.inboundTarget = { ip: '127.0.0.1', port: appPort };
    const session = h2Connect(`http://127.0.0.1:${client.outboundPort}`);
    cleanups.push(() => session.destroy());
    const res = await new Promise<{ status: number; body: string; grpc: unknown }>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/books.Books/Get', ':authority': 'books.default.svc.cluster.local:80', 'content-type': 'application/grpc', 'l5d-client-id': 'spoofed' });
      let status = 0;
      let grpc: unknown;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('trailers', (t) => (grpc = t['grpc-status']));
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => resolve({ status, body, grpc }));
      req.on('error', reject);
      req.end('payload');
    });
    expect(res).toEqual({ status: 200, body: `h2 app saw /books.Books/Get client-id=${WEB}`, grpc: '0' });
    expect(sample(await server.metrics(), 'request_total', `tls="true",client_id="${WEB}"`)).toBe(1);

    const started = performance.now();
    const slow = await new Promise<{ status: number; grpc: unknown }>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/books.Books/Slow', ':authority': 'books.default.svc.cluster.local:80', 'content-type': 'application/grpc' });
      let status = 0;
      let grpc: unknown;
      req.on('response', (h) => {
        status = Number(h[':status']);
        grpc ??= h['grpc-status'];
      });
      req.on('trailers', (t) => (grpc = t['grpc-status']));
      req.on('end', () => resolve({ status, grpc }));
      req.on('error', reject);
      req.resume();
      req.end('payload');
    });
    expect(performance.now() - started).toBeLessThan(900);
    expect(slow.grpc ?? slow.status).not.toBe('0');
    const text = await client.metrics();
    expect(sample(text, 'route_request_total', 'rt_route="Get"')).toBe(1);
    expect(sample(text, 'route_response_total', 'rt_route="Get",status_code="200",classification="success"')).toBe(1);
    expect(sample(text, 'route_request_total', 'rt_route="Slow"')).toBe(1);
    expect(text).toMatch(/route_response_total\{[^}]*rt_route="Slow"[^}]*classification="failure"\} 1/);
    // Both native HTTP/2 requests are counted under the endpoint, over mTLS to its identity.
    expect(sample(text, 'request_total', `direction="outbound",authority="books.default.svc.cluster.local:80",target_addr="127.0.0.1:${server.inboundPort}"`)).toBe(2);
    expect(sample(text, 'response_total', `tls="true",server_id="${BOOKS}",dst_namespace="default",dst_service="books",status_code="200",classification="success",grpc_status="0"`)).toBe(1);
  });

  it('retries native HTTP/2 (gRPC) requests on a retryable route: the buffered body is sent again in full, bodies over 64 KiB go once', async () => {
    const { server, client } = await twoProxies({
      routes: [{ metricsLabels: { route: 'Flaky' }, condition: { match: { $case: 'path', value: { regex: '/books.Books/Flaky' } } }, isRetryable: true }],
    });
    // Every other call fails with UNAVAILABLE in a trailers-only response, after reading the whole request.
    let calls = 0;
    const app = h2CreateServer();
    app.on('stream', (stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        if (calls++ % 2 === 0) return stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' }, { endStream: true });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(`got ${body.length} bytes ending ${body.slice(-5)}`);
      });
    });
    const appPort = await listenOn(app);
    cleanups.push(() => app.close());
    server.inboundTarget = { ip: '127.0.0.1', port: appPort };
    const session = h2Connect(`http://127.0.0.1:${client.outboundPort}`);
    cleanups.push(() => session.destroy());
    const call = (body: string) =>
      new Promise<{ body: string; grpc: unknown }>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/books.Books/Flaky', ':authority': 'books.default.svc.cluster.local:80', 'content-type': 'application/grpc' });
        let grpc: unknown;
        let got = '';
        req.on('response', (h) => (grpc = h['grpc-status']));
        req.on('trailers', (t) => (grpc = t['grpc-status']));
        req.on('data', (d: Buffer) => (got += d.toString()));
        req.on('end', () => resolve({ body: got, grpc }));
        req.on('error', reject);
        req.end(body);
      });
    for (let i = 0; i < 3; i++) expect(await call(`${'x'.repeat(20_000)}END${i}!`)).toEqual({ body: `got 20005 bytes ending END${i}!`, grpc: '0' });
    expect(calls).toBe(6);
    // Over 64 KiB the body is not kept, so the failed answer is final.
    expect(await call(`${'y'.repeat(70_000)}`)).toEqual({ body: '', grpc: '14' });
    expect(calls).toBe(7);
    const text = await client.metrics();
    expect(sample(text, 'route_request_total', 'rt_route="Flaky"')).toBe(4);
    expect(sample(text, 'route_actual_request_total', 'rt_route="Flaky"')).toBe(7);
    expect(sample(text, 'route_retryable_total', 'rt_route="Flaky",retry="true"')).toBe(3);
    expect(sample(text, 'route_response_total', 'rt_route="Flaky",status_code="200",classification="success"')).toBe(3);
    // Under the endpoint: the three recovered calls ended cleanly, the last one with its gRPC failure.
    const ep = `target_addr="127.0.0.1:${server.inboundPort}",target_ip="127.0.0.1",target_port="${server.inboundPort}",tls="true",server_id="${BOOKS}",dst_namespace="default",dst_service="books"`;
    expect(sample(text, 'response_total', `${ep},status_code="200",classification="success",grpc_status="0",error=""`)).toBe(3);
    expect(sample(text, 'response_total', `${ep},status_code="200",classification="failure",grpc_status="14",error=""`)).toBe(1);
  });

  it('releases a target no connection used for the outbound discovery idle timeout, and resolves it again on use', async () => {
    const { client, dst } = await twoProxies({}, { LINKERD2_PROXY_OUTBOUND_DISCOVERY_IDLE_TIMEOUT: '200ms' });
    const host = { host: 'books.default.svc.cluster.local', connection: 'close' };
    expect((await get(client.outboundPort, '/a', host)).status).toBe(200);
    const profiles = () => dst.requests.filter((r) => r.method === 'getProfile' && r.path === '10.96.0.10:80').length;
    expect(profiles()).toBe(1);
    // The watches are cancelled once the target is released (no connection left) and discovery lets them go.
    await expect.poll(() => dst.cancelled, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect((await get(client.outboundPort, '/b', host)).status).toBe(200);
    expect(profiles()).toBe(2);
  });

  it('sends an opaque port through opaque transport: mTLS to the peer proxy inbound port with the transport header', async () => {
    const { server, client, dst } = await twoProxies();
    // A server-speaks-first app (port 5432 is opaque by default): it greets, then echoes.
    const db = createNetServer((s) => {
      s.write('hello from db\n');
      s.on('data', (d: Buffer) => s.write(`echo ${d.toString()}`));
    });
    const dbPort = await listenOn(db);
    cleanups.push(() => db.close());
    server.inboundTarget = { ip: '127.0.0.1', port: server.inboundPort };
    dst.profiles.set('10.96.0.11:5432', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'db.default.svc.cluster.local', opaqueProtocol: true }));
    dst.services.set('db.default.svc.cluster.local:5432', [
      destination.Update.fromPartial({
        update: {
          $case: 'add',
          value: {
            addrs: [
              {
                addr: tcpAddress('127.0.0.1', dbPort),
                weight: 10000,
                tlsIdentity: { strategy: { $case: 'dnsLikeIdentity', value: { name: BOOKS } } },
                protocolHint: { protocol: { $case: 'opaque', value: {} }, opaqueTransport: { inboundPort: server.inboundPort } },
              },
            ],
          },
        },
      }),
    ]);
    client.outboundTarget = { ip: '10.96.0.11', port: 5432 };
    const sock = netConnect(client.outboundPort, '127.0.0.1');
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    await expect.poll(() => got, { timeout: 5_000 }).toBe('hello from db\n');
    sock.write('ping');
    await expect.poll(() => got, { timeout: 5_000 }).toBe('hello from db\necho ping');
    sock.destroy();
    expect(sample(await server.metrics(), 'tcp_open_total', `tls="true",client_id="${WEB}"`)).toBe(1);
    // The client proxy's connection (to the peer's inbound port) is mTLS, labelled with the endpoint it reaches.
    expect(sample(await client.metrics(), 'tcp_open_total', `direction="outbound",peer="dst",authority="db.default.svc.cluster.local:5432",target_addr="127.0.0.1:${dbPort}",target_ip="127.0.0.1",target_port="${dbPort}",tls="true",server_id="${BOOKS}"`)).toBe(1);
  });

  it('tunnels an HTTP/1 Upgrade over mTLS HTTP/1 to the endpoint (upgrades are never carried over HTTP/2)', async () => {
    const { server, client } = await twoProxies();
    const app = createServer((_req, res) => res.end('no upgrade'));
    app.on('upgrade', (req, socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nx-client-id: ${String(req.headers['l5d-client-id'])}\r\n\r\n`);
      socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`));
    });
    const appPort = await listenOn(app);
    cleanups.push(() => app.close());
    server.inboundTarget = { ip: '127.0.0.1', port: appPort };
    const { clientId, echoed } = await new Promise<{ clientId: string; echoed: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: client.outboundPort, path: '/ws', headers: { host: 'books.default.svc.cluster.local', connection: 'Upgrade', upgrade: 'echo' } });
      req.on('upgrade', (res, socket) => {
        socket.once('data', (d: Buffer) => {
          resolve({ clientId: String(res.headers['x-client-id']), echoed: d.toString() });
          socket.destroy();
        });
        socket.write('ping');
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode ?? 0}`)));
      req.on('error', reject);
      req.end();
    });
    expect(clientId).toBe(WEB);
    expect(echoed).toBe('echo:ping');
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
}
