// Inbound policy end to end: a meshed proxy watching InboundServerPolicies on a stub controller, real HTTP,
// HTTP/2 (gRPC) and TCP servers as the app, and clients that are plaintext or mTLS with a chosen identity. The
// clients connect from 127.0.0.2 or 127.0.0.3: Linkerd always admits 127.0.0.1 to servers the controller sends.
import { once } from 'node:events';
import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import { connect as h2Connect, type IncomingHttpHeaders as H2Headers } from 'node:http2';
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ipAddressFromString, type inbound } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { startGrpcServer } from './grpc-fixture.ts';
import { listenOn, sample, startHarness } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy, type MeshedProxy } from './mesh-harness.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { startStubDestination } from './mesh-stub-destination.ts';
import { authz, detect, httpRoute, opaque, pathRule, server, startPolicyStub, type PolicyStub } from './policy-stub.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const CLIENT = 'vote-bot.default.serviceaccount.identity.trellis.cluster.local';
const OTHER = 'intruder.other.serviceaccount.identity.trellis.cluster.local';
const WORKLOAD = '{"ns":"default","pod":"web-0"}';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The app: answers with what it saw (method, path, client id, the x- headers). */
async function app(): Promise<number> {
  const s = createServer((req, res) => {
    const x = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-')));
    res.end(JSON.stringify({ path: req.url, clientId: req.headers['l5d-client-id'] ?? null, x }));
  });
  const port = await listenOn(s);
  cleanups.push(() => s.close());
  return port;
}

/** A TCP echo server (the app of an opaque port). */
async function echo(): Promise<number> {
  const s = createNetServer((c) => c.pipe(c));
  const port = await listenOn(s);
  cleanups.push(() => s.close());
  return port;
}

function get(port: number, path: string, o: { from?: string; agent?: Agent; headers?: Record<string, string> } = {}): Promise<Reply & { reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: o.from ?? '127.0.0.2', agent: o.agent ?? false, headers: { host: 'web.default.svc', ...o.headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP/1.1 request over mTLS as `identity` (a client proxy's connection), from 127.0.0.2. */
async function meshGet(pki: MeshPki, identity: string, port: number, path: string): Promise<Reply> {
  const creds = await pki.issue(identity);
  const tls = await new MeshTls({ current: () => creds }).connect(
    { addr: `127.0.0.1:${port}`, host: '127.0.0.1', port, serverId: WEB },
    netConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }),
  );
  let raw = '';
  tls.on('data', (d: Buffer) => (raw += d.toString()));
  tls.write(`GET ${path} HTTP/1.1\r\nHost: web.default.svc\r\nConnection: close\r\n\r\n`);
  await Promise.race([once(tls, 'end'), once(tls, 'close')]);
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(statusLine)?.[1] ?? 0), headers, body };
}

/** Connects to an opaque port from 127.0.0.2, writes `text`, and resolves with what came back before the close. */
function tcpExchange(port: number, text: string): { socket: Socket; reply: Promise<string>; closed: Promise<void> } {
  const socket = netConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  socket.on('error', () => undefined);
  let got = '';
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const reply = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) resolve(got);
    });
    void closed.then(() => resolve(got));
  });
  socket.write(text);
  return { socket, reply, closed };
}

interface Mesh {
  pki: MeshPki;
  policy: PolicyStub;
  proxy: MeshedProxy;
}

async function mesh(env: Record<string, string>, o: { controller?: boolean; servers?: [number, inbound.Server][] } = {}): Promise<Mesh> {
  const pki = await createMeshPki();
  const identity = await startFakeIdentity(pki, { tls: false });
  const dst = await startStubDestination(pki, { tls: false });
  const policy = await startPolicyStub();
  cleanups.push(() => identity.close(), () => dst.close(), () => policy.close());
  for (const [port, s] of o.servers ?? []) policy.servers.set(port, s);
  const proxy = await startMeshedProxy({
    pki,
    identitySvc: identity,
    destination: dst,
    identity: WEB,
    env: { ...(o.controller === false ? {} : { LINKERD2_PROXY_POLICY_SVC_ADDR: policy.addr, LINKERD2_PROXY_POLICY_WORKLOAD: WORKLOAD }), ...env },
  });
  cleanups.push(() => proxy.proxy.close());
  // Not through the admin port: its policy may refuse these clients too.
  await expect.poll(() => proxy.proxy.mesh?.isReady(), { timeout: 10_000 }).toBe(true);
  return { pki, policy, proxy };
}

/** The proxy's metric families, read in process (the admin port is under the policy being tested). */
const metricsOf = (p: MeshedProxy) => p.proxy.metrics.render();

const target = (port: number) => `target_addr="127.0.0.1:${port}",target_ip="127.0.0.1",target_port="${port}"`;

describe('inbound policy: defaults', () => {
  it('a deny default policy answers HTTP with 403 and closes connections to opaque ports, counting both', async () => {
    const web = await app();
    const tcp = await echo();
    const { proxy } = await mesh({ LINKERD2_PROXY_INBOUND_DEFAULT_POLICY: 'deny', LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION: String(tcp) }, { controller: false });
    proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    // The proxy's own default has no loopback exception: even 127.0.0.1 is denied.
    const r = await get(proxy.inboundPort, '/', { from: '127.0.0.1' });
    expect(r.status).toBe(403);
    expect(r.headers['l5d-proxy-error']).toBeUndefined();

    proxy.inboundTarget = { ip: '127.0.0.1', port: tcp };
    const t = tcpExchange(proxy.inboundPort, 'hello');
    await t.closed;
    expect(await t.reply).toBe('');

    const text = metricsOf(proxy);
    const srv = (port: number) => `srv_group="",srv_kind="default",srv_name="deny",srv_port="${port}"`;
    expect(sample(text, 'inbound_http_authz_deny_total', `{${target(web)},${srv(web)},route_group="",route_kind="default",route_name="default",tls="no_identity",no_tls_reason="no_tls_from_remote"}`)).toBe(1);
    expect(sample(text, 'inbound_tcp_authz_deny_total', `{${target(tcp)},${srv(tcp)},tls="no_identity",no_tls_reason="port_skipped"}`)).toBe(1);
    expect(sample(text, 'inbound_http_errors_total', 'error="unauthorized"')).toBe(1);
    // A denied request never reached the app: it is in no endpoint series.
    expect(sample(text, 'request_total', `target_port="${web}"`)).toBeUndefined();
  });

  it('applies the default policy when the controller is unreachable, and when it answers Unimplemented', async () => {
    const web = await app();
    const closed = createNetServer();
    const deadPort = await listenOn(closed);
    closed.close();
    const down = await mesh(
      { LINKERD2_PROXY_POLICY_SVC_ADDR: `127.0.0.1:${deadPort}`, LINKERD2_PROXY_POLICY_WORKLOAD: WORKLOAD, LINKERD2_PROXY_INBOUND_DEFAULT_POLICY: 'all-authenticated', TRELLIS_PROXY_INBOUND_POLICY_INITIAL_TIMEOUT: '100ms' },
      { controller: false },
    );
    down.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    expect((await get(down.proxy.inboundPort, '/plain')).status).toBe(403);
    const meshed = await meshGet(down.pki, CLIENT, down.proxy.inboundPort, '/meshed');
    expect(meshed.status).toBe(200);
    expect(JSON.parse(meshed.body)).toMatchObject({ path: '/meshed', clientId: CLIENT });
    const text = metricsOf(down.proxy);
    expect(sample(text, 'inbound_http_authz_allow_total', `srv_name="all-authenticated",srv_port="${web}",route_group="",route_kind="default",route_name="default",authz_group="",authz_kind="default",authz_name="all-authenticated",tls="true",client_id="${CLIENT}"`)).toBe(1);

    const unimpl = await mesh({ LINKERD2_PROXY_INBOUND_DEFAULT_POLICY: 'deny', LINKERD2_PROXY_INBOUND_PORTS: String(web) });
    unimpl.policy.failWith = grpcStatus.UNIMPLEMENTED;
    unimpl.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    // A port first seen now: its watch is answered Unimplemented, so the deny default applies even to 127.0.0.1.
    const other = await app();
    unimpl.proxy.inboundTarget = { ip: '127.0.0.1', port: other };
    expect((await get(unimpl.proxy.inboundPort, '/', { from: '127.0.0.1' })).status).toBe(403);
    expect(unimpl.policy.requests.some((r) => r.port === other && r.workload === WORKLOAD)).toBe(true);
  });
});

describe('inbound policy: audit and plaintext mode', () => {
  it('the audit default admits every client and counts it under authz_name="audit"', async () => {
    const web = await app();
    const { proxy } = await mesh({ LINKERD2_PROXY_INBOUND_DEFAULT_POLICY: 'audit' }, { controller: false });
    proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    expect((await get(proxy.inboundPort, '/audited')).status).toBe(200);
    const text = metricsOf(proxy);
    const labels = `srv_group="",srv_kind="default",srv_name="audit",srv_port="${web}",route_group="",route_kind="default",route_name="default",authz_group="",authz_kind="default",authz_name="audit"`;
    expect(sample(text, 'inbound_http_authz_allow_total', `{${target(web)},${labels},tls="no_identity",no_tls_reason="no_tls_from_remote"}`)).toBe(1);
    expect(sample(text, 'request_total', `tls="no_identity",no_tls_reason="no_tls_from_remote",${labels}}`)).toBe(1);
  });

  it('without a mesh the default policy still applies: cluster-unauthenticated admits the cluster networks only', async () => {
    const web = await app();
    const h = await startHarness({ LINKERD2_PROXY_INBOUND_DEFAULT_POLICY: 'cluster-unauthenticated', LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS: '127.0.0.2/32' });
    cleanups.push(() => h.proxy.close());
    h.target = { ip: '127.0.0.1', port: web };
    expect((await get(h.inboundPort, '/', { from: '127.0.0.2' })).status).toBe(200);
    expect((await get(h.inboundPort, '/', { from: '127.0.0.3' })).status).toBe(403);
    expect(sample(h.proxy.metrics.render(), 'inbound_http_authz_deny_total', `srv_name="cluster-unauthenticated",srv_port="${web}"`)).toBe(1);
  });
});

describe('inbound policy: Servers from the controller', () => {
  it('watches the pod ports and the admin port from the start', async () => {
    const web = await app();
    const { policy, proxy } = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(web) });
    const admin = Number(new URL(proxy.adminUrl).port);
    await expect.poll(() => policy.open(web)).toBe(1);
    await expect.poll(() => policy.open(admin)).toBe(1);
    expect(policy.requests.filter((r) => r.workload === WORKLOAD).map((r) => r.port)).toEqual(expect.arrayContaining([web, admin]));
  });

  it('authorizes requests to the admin port under its own Server: loopback and the probe network pass, others get 403', async () => {
    const m = await mesh({});
    const admin = Number(new URL(m.proxy.adminUrl).port);
    const adminGet = (path: string, from: string) => get(admin, path, { from });
    expect((await adminGet('/ready', '127.0.0.2')).status).toBe(200);
    m.policy.push(admin, server('proxy-admin', { $case: 'http1', value: { routes: [], localRateLimit: undefined } }, [authz('kubelet', { networks: ['127.0.0.3/32'] })]));
    await expect.poll(async () => (await adminGet('/ready', '127.0.0.2')).status, { timeout: 5_000 }).toBe(403);
    expect((await adminGet('/ready', '127.0.0.3')).status).toBe(200);
    expect((await adminGet('/metrics', '127.0.0.1')).status).toBe(200);
    const text = metricsOf(m.proxy);
    expect(sample(text, 'inbound_http_authz_allow_total', `srv_name="proxy-admin",srv_port="${admin}",route_group="",route_kind="default",route_name="default",authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="kubelet"`)).toBe(1);
    expect(sample(text, 'inbound_http_authz_deny_total', `srv_name="proxy-admin",srv_port="${admin}"`)).toBeGreaterThanOrEqual(1);
  });

  it('meshTLS identities admit the named client; another identity and a plaintext client get 403', async () => {
    const web = await app();
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(web) }, { servers: [[web, server('web-http', detect(), [authz('web-clients', { identities: [CLIENT] })])]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };

    const ok = await meshGet(m.pki, CLIENT, m.proxy.inboundPort, '/votes');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ path: '/votes', clientId: CLIENT });
    const other = await meshGet(m.pki, OTHER, m.proxy.inboundPort, '/votes');
    expect(other.status).toBe(403);
    // A meshed peer learns why (Linkerd's informational header); a plaintext client does not.
    expect(other.headers['l5d-proxy-error']).toContain('unauthorized');
    const plain = await get(m.proxy.inboundPort, '/votes');
    expect(plain.status).toBe(403);
    expect(plain.headers['l5d-proxy-error']).toBeUndefined();
    // Loopback clients are always admitted to a controller's Server, as Linkerd admits them.
    expect((await get(m.proxy.inboundPort, '/local', { from: '127.0.0.1' })).status).toBe(200);

    const text = metricsOf(m.proxy);
    const srv = `srv_group="policy.linkerd.io",srv_kind="server",srv_name="web-http",srv_port="${web}"`;
    const route = 'route_group="",route_kind="default",route_name="default"';
    expect(sample(text, 'inbound_http_authz_allow_total', `{${target(web)},${srv},${route},authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="web-clients",tls="true",client_id="${CLIENT}"}`)).toBe(1);
    expect(sample(text, 'inbound_http_authz_deny_total', `{${target(web)},${srv},${route},tls="true",client_id="${OTHER}"}`)).toBe(1);
    expect(sample(text, 'inbound_http_authz_deny_total', `{${target(web)},${srv},${route},tls="no_identity",no_tls_reason="no_tls_from_remote"}`)).toBe(1);
    expect(sample(text, 'inbound_http_authz_allow_total', 'authz_kind="default",authz_name="localhost"')).toBe(1);
    expect(sample(text, 'request_total', `{direction="inbound",${target(web)},tls="true",client_id="${CLIENT}",${srv},${route},authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="web-clients"}`)).toBe(1);
    expect(sample(text, 'tcp_open_total', `peer="src",${target(web)},tls="true",client_id="${CLIENT}",${srv}`)).toBe(1);
  });

  it('a network authorization admits its network but not the exceptions', async () => {
    const web = await app();
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(web) }, { servers: [[web, server('web-http', detect(), [authz('loopback-nets', { networks: [{ net: '127.0.0.0/8', except: ['127.0.0.3/32'] }] })])]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    expect((await get(m.proxy.inboundPort, '/', { from: '127.0.0.2' })).status).toBe(200);
    expect((await get(m.proxy.inboundPort, '/', { from: '127.0.0.3' })).status).toBe(403);
    const text = metricsOf(m.proxy);
    expect(sample(text, 'inbound_http_authz_allow_total', 'authz_name="loopback-nets"')).toBe(1);
    expect(sample(text, 'inbound_http_authz_deny_total', 'srv_name="web-http"')).toBe(1);
  });

  it('a probe route is open to plaintext clients while every other route needs mTLS', async () => {
    const web = await app();
    const routes = [httpRoute('probes', [pathRule('exact', '/ready')], [authz('probe')]), httpRoute('web', [pathRule('prefix', '/')])];
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(web) }, { servers: [[web, server('web-http', detect(routes), [authz('meshed', { meshTls: true })])]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    expect((await get(m.proxy.inboundPort, '/ready')).status).toBe(200);
    expect((await get(m.proxy.inboundPort, '/data')).status).toBe(403);
    expect((await meshGet(m.pki, OTHER, m.proxy.inboundPort, '/data')).status).toBe(200);
    const text = metricsOf(m.proxy);
    expect(sample(text, 'inbound_http_authz_allow_total', 'route_group="gateway.networking.k8s.io",route_kind="HTTPRoute",route_name="probes",authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="probe"')).toBe(1);
    expect(sample(text, 'inbound_http_authz_deny_total', 'route_name="web",tls="no_identity"')).toBe(1);
    expect(sample(text, 'inbound_http_authz_allow_total', `route_name="web",authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="meshed",tls="true",client_id="${OTHER}"`)).toBe(1);
  });

  it('route filters: a failure injector answers with its status, a header modifier edits the request, a redirect answers with Location; no route is 404', async () => {
    const web = await app();
    const routes = [
      httpRoute('chaos', [pathRule('prefix', '/fail', [{ kind: { $case: 'failureInjector', value: { status: 503, message: 'chaos monkey', ratio: undefined } } }])]),
      httpRoute('edit', [
        pathRule('exact', '/edit', [
          {
            kind: {
              $case: 'requestHeaderModifier',
              value: {
                add: { headers: [{ name: 'x-added', value: Buffer.from('yes') }] },
                set: { headers: [{ name: 'x-set', value: Buffer.from('new') }] },
                remove: ['x-drop'],
              },
            },
          },
        ]),
      ]),
      httpRoute('moved', [pathRule('prefix', '/old', [{ kind: { $case: 'redirect', value: { scheme: undefined, host: '', path: { replace: { $case: 'prefix', value: '/new' } }, port: 0, status: 302 } } }])]),
    ];
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(web) }, { servers: [[web, server('web-http', detect(routes), [authz('everyone')])]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };

    const failed = await get(m.proxy.inboundPort, '/fail/now');
    expect(failed.status).toBe(503);
    const meshedFail = await meshGet(m.pki, CLIENT, m.proxy.inboundPort, '/fail');
    expect(meshedFail.status).toBe(503);
    expect(meshedFail.headers['l5d-proxy-error']).toBe('chaos monkey');

    const edited = await get(m.proxy.inboundPort, '/edit', { headers: { 'x-set': 'old', 'x-drop': '1', 'x-keep': 'k' } });
    expect(edited.status).toBe(200);
    expect(JSON.parse(edited.body).x).toEqual({ 'x-added': 'yes', 'x-set': 'new', 'x-keep': 'k' });

    const moved = await get(m.proxy.inboundPort, '/old/page?q=1');
    expect(moved.status).toBe(302);
    expect(moved.headers.location).toBe('http://web.default.svc/new/page?q=1');

    expect((await get(m.proxy.inboundPort, '/nowhere')).status).toBe(404);
    const text = metricsOf(m.proxy);
    expect(sample(text, 'inbound_http_route_not_found_total', `{${target(web)},srv_group="policy.linkerd.io",srv_kind="server",srv_name="web-http",srv_port="${web}",tls="no_identity",no_tls_reason="no_tls_from_remote"}`)).toBe(1);
    // Failures are injected after authorization: both requests were admitted on the route.
    expect(sample(text, 'inbound_http_authz_allow_total', 'route_name="chaos",authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="everyone",tls="no_identity"')).toBe(1);
    expect(sample(text, 'inbound_http_authz_allow_total', `route_name="chaos",authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="everyone",tls="true",client_id="${CLIENT}"`)).toBe(1);
  });

  it('a policy update from allow to deny applies to the next request on the same connection and closes open opaque connections', async () => {
    const web = await app();
    const tcp = await echo();
    const m = await mesh(
      { LINKERD2_PROXY_INBOUND_PORTS: `${web},${tcp}` },
      {
        servers: [
          [web, server('web-http', detect(), [authz('everyone')])],
          [tcp, server('web-tcp', opaque, [authz('everyone')])],
        ],
      },
    );
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: tcp };
    const t = tcpExchange(m.proxy.inboundPort, 'ping');
    expect(await t.reply).toBe('ping');

    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const first = await get(m.proxy.inboundPort, '/', { agent });
    expect(first.status).toBe(200);

    // The update also renames the port's Server: the keep-alive connection's next requests count under the new one.
    m.policy.push(web, server('web-http-locked', detect(), []));
    m.policy.push(tcp, server('web-tcp', opaque, []));
    await expect.poll(async () => (await get(m.proxy.inboundPort, '/', { agent })).status, { timeout: 5_000 }).toBe(403);
    const again = await get(m.proxy.inboundPort, '/', { agent });
    expect(again.status).toBe(403);
    expect(again.reused).toBe(true);
    await t.closed;

    const text = metricsOf(m.proxy);
    const denied = text.split('\n').filter((l) => l.startsWith('inbound_http_authz_deny_total{'));
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((l) => l.includes(`srv_kind="server",srv_name="web-http-locked",srv_port="${web}"`)), denied.join('\n')).toBe(true);
    const srv = `srv_group="policy.linkerd.io",srv_kind="server",srv_name="web-tcp",srv_port="${tcp}"`;
    expect(sample(text, 'inbound_tcp_authz_allow_total', `{${target(tcp)},${srv},authz_group="policy.linkerd.io",authz_kind="authorizationpolicy",authz_name="everyone",tls="no_identity",no_tls_reason="port_skipped"}`)).toBe(1);
    expect(sample(text, 'inbound_tcp_authz_terminate_total', `{${target(tcp)},${srv},tls="no_identity",no_tls_reason="port_skipped"}`)).toBe(1);
  });

  it('a Server the proxy cannot use answers HTTP with 500; server IPs refuse connections to other addresses', async () => {
    const web = await app();
    const other = await app();
    const broken = server('web-http', detect(), [{ ...authz('no-networks'), networks: [] }]);
    const elsewhere = { ...server('web-elsewhere', detect(), [authz('everyone')]), serverIps: [ipAddressFromString('10.9.9.9')] };
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: `${web},${other}` }, { servers: [[web, broken], [other, elsewhere]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    const r = await get(m.proxy.inboundPort, '/');
    expect(r.status).toBe(500);
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: other };
    await expect(get(m.proxy.inboundPort, '/')).rejects.toThrow();
    expect(sample(metricsOf(m.proxy), 'inbound_tcp_errors_total', 'error="unauthorized"')).toBe(1);
  });

  it("answers 429 over the Server's rate limit and counts it by scope", async () => {
    const web = await app();
    const proto: inbound.ProxyProtocol['kind'] = {
      $case: 'detect',
      value: {
        timeout: { seconds: 10n, nanos: 0 },
        httpRoutes: [],
        httpLocalRateLimit: {
          metadata: { kind: { $case: 'resource', value: { group: 'policy.linkerd.io', kind: 'HTTPLocalRateLimitPolicy', name: 'web-rl', namespace: 'default', section: '', port: 0 } } },
          total: { requestsPerSecond: 1 },
          identity: undefined,
          overrides: [],
        },
      },
    };
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(web) }, { servers: [[web, server('web-http', proto, [authz('everyone')])]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    // One request per second: the second, right after the first, is refused.
    expect((await get(m.proxy.inboundPort, '/', { agent })).status).toBe(200);
    expect((await get(m.proxy.inboundPort, '/', { agent })).status).toBe(429);
    expect(sample(metricsOf(m.proxy), 'inbound_http_local_ratelimit_total', `{${target(web)},srv_group="policy.linkerd.io",srv_kind="server",srv_name="web-http",srv_port="${web}",ratelimit_group="policy.linkerd.io",ratelimit_kind="HTTPLocalRateLimitPolicy",ratelimit_name="web-rl",ratelimit_scope="total",tls="no_identity",no_tls_reason="no_tls_from_remote"}`)).toBe(1);
  });

  it("a Server declaring HTTP/2 still detects a meshed peer's protocol: HTTP/1 over mTLS (a Trellis client proxy with TRELLIS_PROXY_MESH_HTTP1) is served as HTTP/1", async () => {
    const web = await app();
    const http2: inbound.ProxyProtocol['kind'] = { $case: 'http2', value: { routes: [], localRateLimit: undefined } };
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(web) }, { servers: [[web, server('web-h2', http2, [authz('anyone')])]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: web };
    const meshed = await meshGet(m.pki, CLIENT, m.proxy.inboundPort, '/h1-over-mtls');
    expect([meshed.status, JSON.parse(meshed.body)]).toMatchObject([200, { path: '/h1-over-mtls', clientId: CLIENT }]);
  });

  it('a gRPC Server answers methods its routes do not authorize with PERMISSION_DENIED', async () => {
    const grpc = await startGrpcServer();
    cleanups.push(() => grpc.server.forceShutdown());
    const method = (name: string, authorizations: inbound.Authz[]) => ({
      metadata: { kind: { $case: 'resource' as const, value: { group: 'gateway.networking.k8s.io', kind: 'GRPCRoute', name, namespace: 'default', section: '', port: 0 } } },
      hosts: [],
      authorizations,
      rules: [{ matches: [{ rpc: { service: 'trellis.test.Echo', method: name === 'echo' ? 'Echo' : 'Count' }, headers: [] }], filters: [] }],
    });
    const proto: inbound.ProxyProtocol['kind'] = { $case: 'grpc', value: { routes: [method('echo', [authz('anyone')]), method('count', [])] } };
    const m = await mesh({ LINKERD2_PROXY_INBOUND_PORTS: String(grpc.port) }, { servers: [[grpc.port, server('echo-grpc', proto, [authz('meshed', { meshTls: true })])]] });
    m.proxy.inboundTarget = { ip: '127.0.0.1', port: grpc.port };
    const session = h2Connect(`http://127.0.0.1:${m.proxy.inboundPort}`, { createConnection: () => netConnect({ host: '127.0.0.1', port: m.proxy.inboundPort, localAddress: '127.0.0.2' }) });
    cleanups.push(() => session.destroy());
    const call = (path: string) =>
      new Promise<{ headers: H2Headers; trailers: H2Headers; body: Buffer }>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
        let headers: H2Headers = {};
        let trailers: H2Headers = {};
        const chunks: Buffer[] = [];
        req.on('response', (h) => (headers = h));
        req.on('trailers', (t) => (trailers = t));
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', () => resolve({ headers, trailers, body: Buffer.concat(chunks) }));
        req.on('error', reject);
        const msg = Buffer.from('2');
        const frame = Buffer.alloc(5);
        frame.writeUInt32BE(msg.length, 1);
        req.end(Buffer.concat([frame, msg]));
      });
    const echoed = await call('/trellis.test.Echo/Echo');
    expect(echoed.trailers['grpc-status']).toBe('0');
    expect(echoed.body.subarray(5).toString()).toBe('2');
    const denied = await call('/trellis.test.Echo/Count');
    expect(denied.headers[':status']).toBe(200);
    expect(denied.headers['grpc-status']).toBe(String(grpcStatus.PERMISSION_DENIED));
    const text = metricsOf(m.proxy);
    expect(sample(text, 'inbound_http_authz_deny_total', 'route_kind="GRPCRoute",route_name="count"')).toBe(1);
    expect(sample(text, 'inbound_http_authz_allow_total', 'route_kind="GRPCRoute",route_name="echo"')).toBe(1);
  });
});
