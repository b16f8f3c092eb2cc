// An unmodified client and server in two network namespaces, each with proxy-init's rules and a Trellis
// proxy (uid 2102): every connection goes client -> outbound proxy -> server's inbound proxy -> server.
// Needs root (namespaces, iptables), as CI has.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { client, metricsOf, startProxiedPair, stopProxiedPair, type Pod } from './netns.ts';

let pods: { client: Pod; server: Pod };
let app: ChildProcess | undefined;
let clientProxy: ChildProcess | undefined;
let serverProxy: ChildProcess | undefined;

beforeAll(async () => {
  ({ pods, app, serverProxy, clientProxy } = await startProxiedPair(91, { client: { LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD: '10s' } }));
}, 60_000);

afterAll(() => stopProxiedPair({ pods, app, serverProxy, clientProxy }));

const srv = () => pods.server.ip;

describe('through two proxies', () => {
  it('carries HTTP/1 with keep-alive reused at every hop, and counts exactly N requests', async () => {
    await client(pods.client, 'get', srv(), '8080', '/reset');
    const before = sample(await metricsOf(pods.client), 'request_total', `target_addr="${srv()}:8080"`) ?? 0;
    const r = await client<{ bodies: string[] }>(pods.client, 'keepalive', srv(), '8080', '20');
    expect(r.bodies).toHaveLength(20);
    expect(r.bodies[19]).toBe('hello GET /n/19');
    // The application saw one connection from the server's inbound proxy for all 20 requests (and /connections).
    expect((await client<{ body: string }>(pods.client, 'get', srv(), '8080', '/connections')).body).toBe('1');
    const out = await metricsOf(pods.client);
    expect(sample(out, 'request_total', `target_addr="${srv()}:8080"`)).toBe(before + 21);
    const inbound = await metricsOf(pods.server);
    expect(inbound).toMatch(
      new RegExp(`request_total\\{direction="inbound",target_addr="${srv()}:8080",target_ip="${srv()}",target_port="8080",tls="no_identity",no_tls_reason="no_tls_from_remote",srv_group="",srv_kind="default",srv_name="all-unauthenticated",srv_port="8080",`),
    );
    expect(out).toContain('response_latency_ms_bucket{direction="outbound"');
    expect(out).toMatch(/le="1"\}.*\n.*le="2"\}.*\n.*le="3"\}/);
  });

  it('streams a chunked upload', async () => {
    expect(await client(pods.client, 'upload', srv(), '8080')).toEqual({ body: 'received 1048576 bytes, te=chunked' });
  });

  it('tunnels a WebSocket echo', async () => {
    expect(await client(pods.client, 'ws', srv(), '8080')).toEqual({ message: 'echo:ping' });
  });

  it('carries HTTP/2 with prior knowledge, trailers included', async () => {
    expect(await client(pods.client, 'h2', srv(), '8081')).toEqual({ body: 'h2 /prior-knowledge', trailer: 'done' });
  });

  it('carries gRPC unary and server-streaming calls', async () => {
    expect(await client(pods.client, 'grpc', srv(), '8082')).toEqual({ echoed: 'hello', stream: ['1', '2', '3', '4', '5'] });
    const m = await metricsOf(pods.client);
    expect(sample(m, 'response_total', `target_port="8082",tls="no_identity",no_tls_reason="not_provided_by_service_discovery",status_code="200",classification="success",grpc_status="0"`)).toBe(2);
  });

  it('carries opaque TCP with half-close, and counts its bytes exactly', async () => {
    const labels = `direction="outbound",peer="src",target_addr="${srv()}:9000"`;
    const before = await metricsOf(pods.client);
    expect(await client(pods.client, 'tcp', srv(), '9000', '100000')).toEqual({ bytes: 100000 });
    const after = await metricsOf(pods.client);
    expect((sample(after, 'tcp_read_bytes_total', labels) ?? 0) - (sample(before, 'tcp_read_bytes_total', labels) ?? 0)).toBe(100000);
    expect((sample(after, 'tcp_write_bytes_total', labels) ?? 0) - (sample(before, 'tcp_write_bytes_total', labels) ?? 0)).toBe(100000);
    expect(sample(after, 'tcp_open_total', labels)).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'tcp_close_total', `${labels},target_ip="${srv()}",target_port="9000",tls="no_identity",no_tls_reason="loopback",errno=""`)).toBeGreaterThanOrEqual(1);
  });

  it('completes a server-speaks-first exchange on an opaque port in well under a second', async () => {
    const r = await client<{ greeting: string; greetedMs: number; reply: string }>(pods.client, 'server-first', srv(), '3306');
    expect(r.greeting).toContain('mysql-like greeting');
    expect(r.reply).toBe('ok:LOGIN');
    expect(r.greetedMs).toBeLessThan(300);
  });

  it("answers 502 from the server's inbound proxy, naming our code and that proxy, when the application refuses", async () => {
    const r = await client<{ status: number; headers: Record<string, string> }>(pods.client, 'get', srv(), '8099');
    expect(r.status).toBe(502);
    expect(r.headers['trellis-proxy-error-code']).toBe('TRELLIS_ERR_CONNECT');
    expect(r.headers['trellis-proxy-error-source']).toBe(`inbound proxy ${pods.server.ns}.test`);
    // As in Linkerd, the inbound proxy tells the error text only to meshed peers with an identity.
    expect(r.headers['l5d-proxy-error']).toBeUndefined();
    expect(await client(pods.client, 'grpc-error', srv(), '8099')).toMatchObject({ code: 14 });
  });

  it('answers 504 with l5d-proxy-error from the outbound proxy when the target does not answer within the connect timeout', async () => {
    const started = Date.now();
    const r = await client<{ status: number; headers: Record<string, string> }>(pods.client, 'get', '10.244.91.99', '8080');
    expect(r.status).toBe(504);
    expect(r.headers['l5d-proxy-error']).toBe('connect to 10.244.91.99:8080 timed out after 1000ms');
    expect(r.headers['trellis-proxy-error-code']).toBe('TRELLIS_ERR_CONNECT_TIMEOUT');
    expect(r.headers['trellis-proxy-error-source']).toBe(`outbound proxy ${pods.client.ns}.test`);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('SIGTERM', () => {
  it('lets a slow request finish and refuses new connections', async () => {
    const requests = async () => sample(await metricsOf(pods.client), 'request_total', `target_addr="${srv()}:8080"`) ?? 0;
    const before = await requests();
    const slow = client<{ status: number; body: string }>(pods.client, 'get', srv(), '8080', '/slow?ms=1500');
    // The slow request is in flight once it is counted (the metrics scrape itself goes to the admin port).
    await expect.poll(requests, { timeout: 5000 }).toBe(before + 1);
    const proxy = clientProxy as ChildProcess;
    const exited = once(proxy, 'exit');
    proxy.kill('SIGTERM');
    await expect.poll(async () => (await client<{ error?: string }>(pods.client, 'connect-error', srv(), '8080')).error, { timeout: 5000 }).toBe('ECONNREFUSED');
    expect(await slow).toEqual({ status: 200, body: 'slow done', headers: expect.any(Object) as unknown });
    const [code] = (await exited) as [number];
    expect(code).toBe(0);
  });
});
