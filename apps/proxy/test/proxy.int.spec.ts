// The data path end to end on loopback, with the original destination injected (the namespace tests in
// *.root.spec.ts do the same through iptables and SO_ORIGINAL_DST).
import { once } from 'node:events';
import { createServer as createHttpServer, request, Agent, type IncomingMessage } from 'node:http';
import { connect as h2connect, createServer as createH2Server } from 'node:http2';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, WebSocket } from 'ws';
import { eventually, listenOn, sample, startHarness, type Harness } from './harness.ts';
import { grpcClient, startGrpcServer, streamed, unary } from './grpc-fixture.ts';

let h: Harness;
const upstreamConnections = new Set<number>();
let httpPort = 0;
let h2Port = 0;
let grpcPort = 0;
let opaquePort = 0;
let silentPort = 0;
let closedPort = 0;
let garbagePort = 0;
const cleanups: (() => void)[] = [];

/** One request; without an agent, on a connection of its own (Node's global agent would keep it alive). */
function get(port: number, path: string, agent: Agent | false = false, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(Object.assign(new Error('response cut'), { code: 'ECONNRESET' }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and collects everything until the proxy closes or the first response head is complete. */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('close', () => resolve(out));
    s.on('error', () => undefined);
    s.end(bytes);
  });
}

beforeAll(async () => {
  const http = createHttpServer({ requireHostHeader: false }, (req, res) => {
    upstreamConnections.add(req.socket.remotePort as number);
    if (req.url === '/upload') {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`received ${n} bytes, te=${req.headers['transfer-encoding'] ?? ''}`));
      return;
    }
    if (req.url === '/slow') {
      setTimeout(() => res.end('slow done'), 400);
      return;
    }
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
      return;
    }
    if (req.url === '/hangup') {
      req.socket.destroy();
      return;
    }
    res.setHeader('x-upstream', 'yes');
    res.end(`hello ${req.method} ${req.url}`);
  });
  http.on('checkContinue', (req, res) => {
    res.writeContinue();
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(`continued ${n}`));
  });
  http.on('connect', (req, socket: Socket) => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(`tunnel:${d.toString()}`));
    socket.on('end', () => socket.end());
  });
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws) => ws.on('message', (m: Buffer) => ws.send(`echo:${m.toString()}`)));
  httpPort = await listenOn(http);

  const h2 = createH2Server();
  h2.on('stream', (stream, headers) => {
    // /remote-error: what a peer proxy's synthesized answer carries, which the outbound proxy keeps from the app.
    const remote = headers[':path'] === '/remote-error' ? { 'l5d-proxy-error': 'connection refused by the app' } : {};
    stream.respond({ ':status': 200, 'content-type': 'text/plain', ...remote }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'done' }));
    stream.end(`h2 ${headers[':path']}`);
  });
  h2Port = await listenOn(h2);

  const grpc = await startGrpcServer();
  grpcPort = grpc.port;

  const opaque = createNetServer((s) => {
    s.write('220 ready\r\n');
    s.on('data', (d: Buffer) => s.write(`ok:${d.toString()}`));
  });
  opaquePort = await listenOn(opaque);
  const silent = createNetServer((s) => s.write('* OK imap ready\r\n'));
  silentPort = await listenOn(silent);
  const garbage = createNetServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'));
  });
  garbagePort = await listenOn(garbage);
  cleanups.push(() => garbage.close());
  const closed = createNetServer();
  closedPort = await listenOn(closed);
  await new Promise((r) => closed.close(r));

  h = await startHarness({
    TRELLIS_PROXY_OUTBOUND_PORTS_DISABLE_PROTOCOL_DETECTION: String(opaquePort),
    LINKERD2_PROXY_OUTBOUND_DETECT_TIMEOUT: '300ms',
    TRELLIS_PROXY_HTTP1_HEADER_READ_TIMEOUT: '500ms',
  });
  cleanups.push(
    () => http.close(),
    () => http.closeAllConnections(),
    () => h2.close(),
    () => grpc.server.forceShutdown(),
    () => opaque.close(),
    () => silent.close(),
    () => h.proxy.close(),
  );
});

afterAll(() => cleanups.forEach((c) => c()));

describe('HTTP/1', () => {
  it('forwards requests over one pooled upstream connection when the client keeps its connection alive', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    upstreamConnections.clear();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 5; i++) {
      const { res, body } = await get(h.outboundPort, `/n/${i}`, agent);
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-upstream']).toBe('yes');
      expect(body).toBe(`hello GET /n/${i}`);
    }
    agent.destroy();
    expect(upstreamConnections.size).toBe(1);
    const m = await h.metrics();
    const labels = `target_addr="127.0.0.1:${httpPort}"`;
    expect(sample(m, 'request_total', labels)).toBeGreaterThanOrEqual(5);
    expect(m).toContain(`response_total{direction="outbound",${labels},target_ip="127.0.0.1",target_port="${httpPort}",tls="no_identity",no_tls_reason="not_provided_by_service_discovery",status_code="200",classification="success",grpc_status="",error=""}`);
    const buckets = m
      .split('\n')
      .filter((l) => l.startsWith('response_latency_ms_bucket{') && l.includes(labels) && l.includes('status_code="200"'))
      .map((l) => /le="([^"]+)"/.exec(l)?.[1]);
    expect(buckets).toEqual(['1', '2', '3', '4', '5', '10', '20', '30', '40', '50', '100', '200', '300', '400', '500', '1000', '2000', '3000', '4000', '5000', '10000', '20000', '30000', '40000', '50000', '+Inf']);
  });

  it('streams a chunked upload', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: h.outboundPort, path: '/upload', method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      for (let i = 0; i < 64; i++) req.write(Buffer.alloc(16 * 1024, i));
      req.end();
    });
    expect(body).toBe('received 1048576 bytes, te=chunked');
  });

  it('passes 100-continue through before the body is sent', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: h.outboundPort, path: '/c', method: 'PUT', headers: { expect: '100-continue', 'content-length': '5' } }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.on('continue', () => req.end('12345'));
    });
    expect(body).toBe('continued 5');
  });

  it('tunnels a WebSocket upgrade', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const ws = new WebSocket(`ws://127.0.0.1:${h.outboundPort}/ws`);
    await once(ws, 'open');
    ws.send('ping');
    const [msg] = (await once(ws, 'message')) as [Buffer];
    expect(msg.toString()).toBe('echo:ping');
    ws.close();
    await once(ws, 'close');
  });

  it('tunnels CONNECT once the upstream answers 200', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const s = connect(h.outboundPort, '127.0.0.1');
    s.write('CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n');
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.endsWith('\r\n\r\n')) s.write('hi');
    });
    await eventually(() => got.includes('tunnel:hi'));
    expect(got).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n/);
    s.destroy();
  });

  it('answers 502 with l5d-proxy-error and our code when the target refuses', async () => {
    h.target = { ip: '127.0.0.1', port: closedPort };
    const { res } = await get(h.outboundPort, '/');
    expect(res.statusCode).toBe(502);
    expect(res.headers['l5d-proxy-error']).toBe(`connect to 127.0.0.1:${closedPort} failed: ECONNREFUSED`);
    expect(res.headers['trellis-proxy-error-code']).toBe('TRELLIS_ERR_CONNECT');
    expect(res.headers['trellis-proxy-error-source']).toMatch(/^outbound proxy /);
    expect(res.headers['connection']).toBe('close');
    const m = await h.metrics();
    expect(sample(m, 'trellis_proxy_errors_total', 'code="TRELLIS_ERR_CONNECT"')).toBeGreaterThanOrEqual(1);
  });
});

describe('HTTP/2 and gRPC', () => {
  it('forwards HTTP/2 with prior knowledge, trailers included', async () => {
    h.target = { ip: '127.0.0.1', port: h2Port };
    const session = h2connect(`http://127.0.0.1:${h.outboundPort}`);
    const req = session.request({ ':path': '/h2' });
    let body = '';
    let trailers: Record<string, unknown> = {};
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('trailers', (t) => (trailers = t));
    req.end();
    await once(req, 'end');
    session.close();
    expect(body).toBe('h2 /h2');
    expect(trailers['x-trailer']).toBe('done');
  });

  it('keeps a remote proxy\'s l5d-proxy-error from the app on HTTP/2 responses', async () => {
    h.target = { ip: '127.0.0.1', port: h2Port };
    const session = h2connect(`http://127.0.0.1:${h.outboundPort}`);
    const req = session.request({ ':path': '/remote-error' });
    const [headers] = (await once(req, 'response')) as [Record<string, unknown>];
    req.resume();
    req.end();
    await once(req, 'end');
    session.close();
    expect(headers[':status']).toBe(200);
    expect(headers['l5d-proxy-error']).toBeUndefined();
  });

  it('carries gRPC unary and server-streaming calls with their status', async () => {
    h.target = { ip: '127.0.0.1', port: grpcPort };
    const client = grpcClient(`127.0.0.1:${h.outboundPort}`);
    expect((await unary(client, 'hello')).toString()).toBe('hello');
    expect(await streamed(client, 5)).toEqual(['1', '2', '3', '4', '5']);
    client.close();
    const m = await h.metrics();
    expect(sample(m, 'response_total', `target_port="${grpcPort}",tls="no_identity",no_tls_reason="not_provided_by_service_discovery",status_code="200",classification="success",grpc_status="0"`)).toBe(2);
  });

  it('gives gRPC callers UNAVAILABLE with the proxy error as message when the target refuses', async () => {
    h.target = { ip: '127.0.0.1', port: closedPort };
    const client = grpcClient(`127.0.0.1:${h.outboundPort}`);
    const err = await unary(client, 'x').catch((e: { code: number; details: string }) => e);
    client.close();
    expect(err).toMatchObject({ code: 14, details: `connect to 127.0.0.1:${closedPort} failed: ECONNREFUSED` });
  });
});

describe('opaque TCP', () => {
  it('forwards an opaque port without detection, so the server can speak first', async () => {
    h.target = { ip: '127.0.0.1', port: opaquePort };
    const started = Date.now();
    const s = connect(h.outboundPort, '127.0.0.1');
    const [greeting] = (await once(s, 'data')) as [Buffer];
    expect(greeting.toString()).toBe('220 ready\r\n');
    expect(Date.now() - started).toBeLessThan(250);
    s.write('HELO');
    const [reply] = (await once(s, 'data')) as [Buffer];
    expect(reply.toString()).toBe('ok:HELO');
    s.destroy();
  });

  it('remembers a port where detection timed out, so the next connection is not stalled', async () => {
    h.target = { ip: '127.0.0.1', port: silentPort };
    const first = Date.now();
    const a = connect(h.outboundPort, '127.0.0.1');
    await once(a, 'data');
    expect(Date.now() - first).toBeGreaterThanOrEqual(290);
    a.destroy();
    const second = Date.now();
    const b = connect(h.outboundPort, '127.0.0.1');
    const [greeting] = (await once(b, 'data')) as [Buffer];
    expect(greeting.toString()).toBe('* OK imap ready\r\n');
    expect(Date.now() - second).toBeLessThan(250);
    b.destroy();
    const m = await h.metrics();
    expect(sample(m, 'trellis_detect_remembered_opaque_ports', 'direction="outbound"')).toBe(1);
    expect(sample(m, 'trellis_detect_timeouts_total', 'direction="outbound"')).toBe(1);
  });

  it('counts the bytes of an opaque connection exactly', async () => {
    h.target = { ip: '127.0.0.1', port: opaquePort };
    const before = await h.metrics();
    const labels = `direction="outbound",peer="src",target_addr="127.0.0.1:${opaquePort}"`;
    const read0 = sample(before, 'tcp_read_bytes_total', labels) ?? 0;
    const write0 = sample(before, 'tcp_write_bytes_total', labels) ?? 0;
    const s = connect(h.outboundPort, '127.0.0.1');
    await once(s, 'data'); // 11 bytes greeting
    s.write('0123456789'); // 10 bytes; reply 13 bytes
    await once(s, 'data');
    s.end();
    await once(s, 'close');
    await eventually(async () => sample(await h.metrics(), 'tcp_read_bytes_total', labels) === read0 + 10);
    expect(sample(await h.metrics(), 'tcp_write_bytes_total', labels)).toBe(write0 + 24);
  });
});

describe('inbound', () => {
  it("refuses a connection whose target is one of the proxy's own ports", async () => {
    h.target = { ip: '127.0.0.1', port: h.inboundPort };
    const s = connect(h.inboundPort, '127.0.0.1');
    const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNRESET');
    expect(sample(await h.metrics(), 'inbound_tcp_errors_total', 'error="unexpected"')).toBeGreaterThanOrEqual(1);
  });

  it('forwards HTTP to the application port with inbound labels', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const { body } = await get(h.inboundPort, '/in');
    expect(body).toBe('hello GET /in');
    expect(await h.metrics()).toContain(
      `request_total{direction="inbound",target_addr="127.0.0.1:${httpPort}",target_ip="127.0.0.1",target_port="${httpPort}",tls="no_identity",no_tls_reason="no_tls_from_remote",srv_group="",srv_kind="default",srv_name="all-unauthenticated",srv_port="${httpPort}",route_group="",route_kind="default",route_name="default",authz_group="",authz_kind="default",authz_name="all-unauthenticated"} 1`,
    );
  });
});

describe('malformed input', () => {
  it.each([
    ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400],
    ['invalid header bytes', 'GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\u0001b\r\n\r\n', 400],
    ['100 KB of headers', `GET / HTTP/1.1\r\nHost: a\r\n${'X-Filler: '.concat('a'.repeat(1000), '\r\n').repeat(100)}\r\n`, 431],
  ])('answers %s with %i and stays up', async (_name, bytes, status) => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const out = await raw(h.outboundPort, bytes);
    expect(out).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
  });

  it('forwards an HTTP/1.1 request without Host, as Linkerd does', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const out = await raw(h.outboundPort, 'GET /no-host HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 200 [^]*hello GET \/no-host$/);
  });

  it('answers a slowloris client with 408', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const s = connect(h.outboundPort, '127.0.0.1');
    s.write('GET / HTTP/1.1\r\nHost: a\r\n');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    await once(s, 'close');
    expect(out).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('copes with a client that closes mid-body', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const s = connect(h.outboundPort, '127.0.0.1');
    s.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nsome');
    await eventually(async () => (sample(await h.metrics(), 'request_total', `target_port="${httpPort}"`) ?? 0) > 0);
    s.destroy();
    const { body } = await get(h.outboundPort, '/after');
    expect(body).toBe('hello GET /after');
  });

  it('cuts the client connection when the server closes mid-response, and answers 502 when it closes before responding', async () => {
    h.target = { ip: '127.0.0.1', port: httpPort };
    const err = await get(h.outboundPort, '/cut').then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('ECONNRESET');
    const { res } = await get(h.outboundPort, '/hangup');
    expect(res.statusCode).toBe(502);
    expect(res.headers['trellis-proxy-error-code']).toBe('TRELLIS_ERR_UPSTREAM_IO');
  });

  it('answers 502 when the server sends a malformed response', async () => {
    h.target = { ip: '127.0.0.1', port: garbagePort };
    const { res } = await get(h.outboundPort, '/');
    expect(res.statusCode).toBe(502);
    expect(res.headers['trellis-proxy-error-code']).toBe('TRELLIS_ERR_UPSTREAM_IO');
    expect(res.headers['l5d-proxy-error']).toMatch(/invalid HTTP response/);
  });

  it('leaks no sockets: every accepted connection is closed once its client is gone', async () => {
    await eventually(async () => {
      const m = await h.metrics();
      return m
        .split('\n')
        .filter((l) => l.startsWith('tcp_open_connections{') && l.includes('peer="src"'))
        .every((l) => l.endsWith(' 0'));
    });
  });
});

describe('drain', () => {
  it('lets an in-flight request finish, refuses new connections, then resolves', async () => {
    const own = await startHarness({ LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD: '5s' });
    own.target = { ip: '127.0.0.1', port: httpPort };
    const slow = get(own.outboundPort, '/slow');
    await eventually(async () => (sample(await own.metrics(), 'request_total', `target_port="${httpPort}"`) ?? 0) === 1);
    const drained = own.proxy.drain();
    const refused = await new Promise<string | undefined>((resolve) => {
      const s = connect(own.outboundPort, '127.0.0.1');
      s.on('connect', () => resolve(undefined));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
    });
    expect(refused).toBe('ECONNREFUSED');
    const { res, body } = await slow;
    expect(body).toBe('slow done');
    expect(res.headers['connection']).toBe('close');
    expect(await drained).toBe(true);
    own.proxy.close();
  });

  it('sends GOAWAY to HTTP/2 clients; the open stream still completes', async () => {
    const own = await startHarness({ LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD: '5s' });
    own.target = { ip: '127.0.0.1', port: h2Port };
    const session = h2connect(`http://127.0.0.1:${own.outboundPort}`);
    const goaway = once(session, 'goaway');
    const first = session.request({ ':path': '/before' });
    first.end();
    await once(first, 'response');
    const drained = own.proxy.drain();
    await goaway;
    let body = '';
    first.on('data', (d: Buffer) => (body += d.toString()));
    await once(first, 'end');
    expect(body).toBe('h2 /before');
    session.close();
    expect(await drained).toBe(true);
    own.proxy.close();
  });
});

describe('admin metrics', () => {
  it('exposes the event-loop delay as a histogram that counts a blocked loop', async () => {
    const count = (m: string, le: string) => Number(new RegExp(`^process_event_loop_delay_seconds_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\d+)$`, 'm').exec(m)?.[1]);
    const before = await h.metrics();
    expect(before).toContain('# TYPE process_event_loop_delay_seconds histogram');
    // The buckets are folded from the sampler's percentiles, exact for the largest sample only: so the stall is made
    // longer than any this test process is likely to have had before it, and counted above 0.5 s.
    const over = (m: string) => count(m, '+Inf') - count(m, '0.5');
    const until = Date.now() + 700;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 50));
    const after = await h.metrics();
    expect(over(after) - over(before)).toBeGreaterThanOrEqual(1);
    expect(count(after, '+Inf')).toBeGreaterThan(count(before, '+Inf'));
    // Two scrapes of the full exposition around a blocked loop: slower than most tests on a loaded machine.
  }, 20_000);
});
