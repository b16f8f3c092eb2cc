// A meshed proxy routing outbound traffic by OutboundPolicies/Watch (docs/reference/linkerd-proxy.md §2, §5; docs/reference/linkerd-contracts.md §1.10):
// a stub policy controller sends spec-shaped policies for the original destination 10.96.0.10:80, the stub
// destination resolves the backends' Destination/Get paths to real HTTP servers, and the app's requests go
// through the proxy's outbound listener.
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import { Agent, request } from 'node:http';
import { destination, durationFromMillis, outbound, tcpAddress } from '@trellis/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn, sample } from './harness.ts';
import { app, authority, backend, cleanups, endpoints, httpPolicy, meshed, send, service, TARGET, toOne } from './mesh-policy-harness.ts';

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('outbound policy routing', () => {
  it('routes by path prefix and by header to two backends, the rest to the default rule', async () => {
    const { proxy, dst, policy } = await meshed();
    const v1 = await app('v1');
    const v2 = await app('v2');
    endpoints(dst, 'books-v1', v1.port);
    endpoints(dst, 'books-v2', v2.port);
    policy.answers.set(
      TARGET,
      httpPolicy([
        { matches: [{ path: { kind: { $case: 'prefix', value: '/' } } }], backends: toOne('books-v1') },
        { matches: [{ path: { kind: { $case: 'prefix', value: '/v2' } } }], backends: toOne('books-v2') },
        { matches: [{ headers: [{ name: 'x-canary', value: { $case: 'exact', value: Buffer.from('yes') } }] }], backends: toOne('books-v2') },
      ]),
    );
    expect((await send(proxy.outboundPort, '/books/1')).body).toBe('v1 /books/1');
    expect((await send(proxy.outboundPort, '/v2/books')).body).toBe('v2 /v2/books');
    expect((await send(proxy.outboundPort, '/v2x')).body).toBe('v1 /v2x');
    expect((await send(proxy.outboundPort, '/books/2', { 'x-canary': 'yes' })).body).toBe('v2 /books/2');
    expect((await send(proxy.outboundPort, '/books/3', { 'x-canary': 'no' })).body).toBe('v1 /books/3');
    expect(policy.watched[0]).toEqual({ target: TARGET, workload: '{"ns":"default","pod":"web-0"}' });
    // The route metrics of contracts §9.3, labelled with the parent Service and the HTTPRoute.
    const text = await proxy.metrics();
    expect(sample(text, 'outbound_http_route_request_statuses_total', 'parent_name="books",parent_port="80",parent_section_name="",route_group="policy.linkerd.io",route_kind="HTTPRoute",route_namespace="default",route_name="books-route",http_status="200",error=""')).toBe(5);
    expect(sample(text, 'outbound_http_route_backend_requests_total', 'backend_name="books-v2"')).toBe(2);
    expect(sample(text, 'outbound_http_route_backend_response_statuses_total', 'backend_name="books-v1",backend_port="80",backend_section_name="",http_status="200",error=""')).toBe(3);
    expect(sample(text, 'outbound_http_route_backend_response_duration_seconds_count', 'backend_name="books-v2"')).toBe(2);
  });

  it('splits 90/10 over two backends by random_available weights, within 3 % over 2,000 requests', async () => {
    const { proxy, dst, policy } = await meshed();
    const v1 = await app('v1');
    const v2 = await app('v2');
    endpoints(dst, 'books-v1', v1.port);
    endpoints(dst, 'books-v2', v2.port);
    policy.answers.set(
      TARGET,
      httpPolicy([
        {
          backends: {
            kind: { $case: 'randomAvailable', value: { backends: [{ backend: { backend: backend('books-v1') }, weight: 90 }, { backend: { backend: backend('books-v2') }, weight: 10 }] } },
          },
        },
      ]),
    );
    const N = 2_000;
    let next = 0;
    const worker = async () => {
      while (next < N) {
        next++;
        expect((await send(proxy.outboundPort, '/split')).status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const share = v1.seen.length / (v1.seen.length + v2.seen.length);
    expect(v1.seen.length + v2.seen.length).toBe(N);
    expect(share).toBeGreaterThan(0.87);
    expect(share).toBeLessThan(0.93);
    console.log(`split: v1 ${v1.seen.length} (${(share * 100).toFixed(1)} %), v2 ${v2.seen.length}`);
  });

  it('answers with a failure injector status and l5d-proxy-error, and modifies request and response headers', async () => {
    const { proxy, dst, policy } = await meshed();
    const v1 = await app('v1', (req, res) => res.end(`v1 saw x-added=${String(req.headers['x-added'])} x-gone=${String(req.headers['x-gone'])}`));
    endpoints(dst, 'books-v1', v1.port);
    policy.answers.set(
      TARGET,
      httpPolicy([
        {
          matches: [{ path: { kind: { $case: 'exact', value: '/broken' } } }],
          filters: [{ kind: { $case: 'failureInjector', value: { status: 503, message: 'injected by policy' } } }],
          backends: toOne('books-v1'),
        },
        {
          matches: [{ path: { kind: { $case: 'exact', value: '/moved' } } }],
          filters: [{ kind: { $case: 'redirect', value: { host: 'elsewhere.example', status: 302 } } }],
        },
        {
          filters: [
            { kind: { $case: 'requestHeaderModifier', value: { add: { headers: [{ name: 'x-added', value: Buffer.from('1') }] }, remove: ['x-gone'] } } },
            { kind: { $case: 'responseHeaderModifier', value: { set: { headers: [{ name: 'x-app', value: Buffer.from('rewritten') }] } } } },
          ],
          backends: toOne('books-v1'),
        },
      ]),
    );
    const broken = await send(proxy.outboundPort, '/broken');
    expect(broken.status).toBe(503);
    expect(broken.headers['l5d-proxy-error']).toBe('injected by policy');
    const moved = await send(proxy.outboundPort, '/moved?q=1');
    expect(moved.status).toBe(302);
    expect(moved.headers['location']).toBe('http://elsewhere.example/moved?q=1');
    const ok = await send(proxy.outboundPort, '/ok', { 'x-gone': 'bye' });
    expect(ok.body).toBe('v1 saw x-added=1 x-gone=undefined');
    expect(ok.headers['x-app']).toBe('rewritten');
    expect(v1.seen.length).toBe(1);
  });

  it("fails an invalid backend's share of a split with its failure injector (the controller's invalid backend)", async () => {
    const { proxy, dst, policy } = await meshed();
    const v1 = await app('v1');
    endpoints(dst, 'books-v1', v1.port);
    const invalid = {
      backend: { metadata: service('gone'), kind: undefined },
      filters: [{ kind: { $case: 'failureInjector' as const, value: { status: 500, message: 'Service not found gone' } } }],
    };
    policy.answers.set(
      TARGET,
      httpPolicy([{ backends: { kind: { $case: 'randomAvailable', value: { backends: [{ backend: { backend: backend('books-v1') }, weight: 1 }, { backend: invalid, weight: 1 }] } } } }]),
    );
    const replies = [];
    for (let i = 0; i < 200; i++) replies.push(await send(proxy.outboundPort, `/i/${i}`));
    const failed = replies.filter((r) => r.status === 500);
    expect(failed.every((r) => r.headers['l5d-proxy-error'] === 'Service not found gone')).toBe(true);
    expect(failed.length + v1.seen.length).toBe(200);
    expect(failed.length).toBeGreaterThan(60);
    expect(failed.length).toBeLessThan(140);
  });

  it('answers 100-continue itself and streams the body of a request that expects it', async () => {
    const { proxy, dst, policy } = await meshed();
    const echo = await app('echo', (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => res.end(`echo got ${body}`));
    });
    endpoints(dst, 'books-v1', echo.port);
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1') }]));
    const reply = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy.outboundPort, path: '/upload', method: 'POST', headers: { host: 'books.default.svc.cluster.local', expect: '100-continue', 'content-length': '5' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('continue', () => req.end('hello'));
      req.on('error', reject);
    });
    expect(reply).toBe('echo got hello');
  });

  it('fails a request with 504 when its route request timeout fires, at the timeout', async () => {
    const { proxy, dst, policy } = await meshed();
    const slow = await app('slow', (_req, res) => void setTimeout(() => res.end('late'), 3_000).unref());
    endpoints(dst, 'books-v1', slow.port);
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1'), timeouts: { request: durationFromMillis(300) } }]));
    await send(proxy.outboundPort, '/warm', {}, 'HEAD').catch(() => undefined);
    const t0 = performance.now();
    const res = await send(proxy.outboundPort, '/slow');
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(504);
    expect(res.headers['l5d-proxy-error']).toBe('request timed out after 300ms');
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(1_000);
    console.log(`route timeout 300 ms fired after ${elapsed.toFixed(0)} ms`);
  });

  it('answers 504 when the response timeout passes before the response ends, and resets a response the idle timeout cuts', async () => {
    const { proxy, dst, policy } = await meshed();
    const slow = await app('slow', (req, res) => {
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part;');
        return;
      }
      setTimeout(() => res.end('late'), 3_000).unref();
    });
    endpoints(dst, 'books-v1', slow.port);
    policy.answers.set(
      TARGET,
      httpPolicy([
        { matches: [{ path: { kind: { $case: 'exact', value: '/stall' } } }], backends: toOne('books-v1'), timeouts: { idle: durationFromMillis(200) } },
        { backends: toOne('books-v1'), timeouts: { response: durationFromMillis(250) } },
      ]),
    );
    const t0 = performance.now();
    const late = await send(proxy.outboundPort, '/late');
    const elapsed = performance.now() - t0;
    expect(late.status).toBe(504);
    expect(late.headers['l5d-proxy-error']).toBe('response timed out after 250ms');
    expect(elapsed).toBeGreaterThanOrEqual(245);
    expect(elapsed).toBeLessThan(1_500);
    // The head and first chunk went out; then nothing moved for 200 ms and the response was cut.
    const stalled = await new Promise<{ status: number; body: string; error: string }>((resolve) => {
      const req = request({ host: '127.0.0.1', port: proxy.outboundPort, path: '/stall', headers: { host: 'books.default.svc.cluster.local' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body, error: e.message }));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, error: '' }));
      });
      req.end();
    });
    expect(stalled).toEqual({ status: 200, body: 'first part;', error: 'aborted' });
    const text = await proxy.metrics();
    expect(sample(text, 'outbound_http_route_request_statuses_total', 'http_status="504",error="RESPONSE_STREAM_TIMEOUT"')).toBe(1);
    expect(sample(text, 'outbound_http_route_request_statuses_total', 'http_status="200",error="IDLE_TIMEOUT"')).toBe(1);
  });

  it('forwards to the address of a forward backend, and sheds with 503 when its queue is full', async () => {
    const { proxy, dst, policy } = await meshed();
    const direct = await app('direct');
    const fwd = outbound.Backend.fromPartial({
      metadata: { kind: { $case: 'default', value: 'egress-fallback' } },
      queue: { capacity: 100, failfastTimeout: durationFromMillis(3_000) },
      kind: { $case: 'forward', value: { addr: tcpAddress('127.0.0.1', direct.port), weight: 1 } },
    });
    policy.answers.set(TARGET, httpPolicy([{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: fwd }] } } } }]));
    expect((await send(proxy.outboundPort, '/f')).body).toBe('direct /f');
    // A backend with no endpoints and a queue of one: the first request waits, the second is shed at once.
    proxy.outboundTarget = { ip: '10.96.0.12', port: 80 };
    dst.services.set(authority('empty'), []);
    const tiny = outbound.Backend.fromPartial({ ...backend('empty', 2_000), queue: { capacity: 1, failfastTimeout: durationFromMillis(2_000) } });
    policy.answers.set('10.96.0.12:80', httpPolicy([{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: tiny }] } } } }]));
    await send(proxy.outboundPort, '/warm', {}, 'HEAD').catch(() => undefined);
    const waiting = send(proxy.outboundPort, '/wait');
    let shed: Awaited<ReturnType<typeof send>> | undefined;
    await expect.poll(async () => (shed = await send(proxy.outboundPort, '/shed')).status).toBe(503);
    expect(shed?.headers['l5d-proxy-error']).toMatch(/queue full/);
    expect((await waiting).status).toBe(504);
  });

  it('recovers a route that fails 30 % of requests with policy retries', async () => {
    const { proxy, dst, policy } = await meshed();
    // Deterministic: 3 of every 10 answers are 500.
    const flaky = await app('flaky', (_req, res, n) => {
      res.statusCode = n % 10 < 3 ? 500 : 200;
      res.end(String(res.statusCode));
    });
    endpoints(dst, 'books-v1', flaky.port);
    const retry = { maxRetries: 3, maxRequestBytes: 65536, conditions: { statusRanges: [{ start: 500, end: 599 }] }, backoff: { minBackoff: durationFromMillis(1), maxBackoff: durationFromMillis(5), jitterRatio: 1 } };
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1'), retry }]));
    const N = 200;
    let ok = 0;
    for (let i = 0; i < N; i++) if ((await send(proxy.outboundPort, `/r/${i}`)).status === 200) ok++;
    expect(ok).toBe(N);
    // 30 % of the attempts failed and each was sent again.
    expect(flaky.seen.length).toBeGreaterThan(N * 1.3);
    const text = await proxy.metrics();
    const retries = sample(text, 'outbound_http_route_retry_requests_total', 'route_name="books-route"');
    expect(retries).toBe(flaky.seen.length - N);
    // Every attempt is in the backend's series: the retried 500s and the 200s.
    expect(sample(text, 'outbound_http_route_backend_response_statuses_total', 'http_status="500"')).toBe(flaky.seen.length - N);
    expect(sample(text, 'outbound_http_route_backend_response_statuses_total', 'http_status="200"')).toBe(N);
    console.log(`retries: ${N} requests, ${flaky.seen.length} attempts, ${ok} succeeded`);
  });

  it('sends a body larger than max_request_bytes once, streamed whole, without retrying it', async () => {
    const { proxy, dst, policy } = await meshed();
    const sink = await app('sink', (req, res, n) => {
      let size = 0;
      req.on('data', (d: Buffer) => (size += d.length));
      req.on('end', () => {
        res.statusCode = n <= 2 ? 500 : 200;
        res.end(`sink got ${size} bytes`);
      });
    });
    endpoints(dst, 'books-v1', sink.port);
    const retry = { maxRetries: 3, maxRequestBytes: 1024, conditions: { statusRanges: [{ start: 500, end: 599 }] }, backoff: { minBackoff: durationFromMillis(1), maxBackoff: durationFromMillis(2) } };
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1'), retry }]));
    const post = (size: number) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: proxy.outboundPort, path: '/upload', method: 'POST', headers: { host: 'books.default.svc.cluster.local' } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        for (let sent = 0; sent < size; sent += 10_000) req.write(Buffer.alloc(Math.min(10_000, size - sent), 'x'));
        req.end();
      });
    // Too large to keep: the 500 is final.
    expect(await post(100_000)).toEqual({ status: 500, body: 'sink got 100000 bytes' });
    expect(sink.seen).toHaveLength(1);
    // Small enough: kept, and sent again in full after the endpoint's second (and last) failure.
    expect(await post(800)).toEqual({ status: 200, body: 'sink got 800 bytes' });
    expect(sink.seen).toHaveLength(3);
  });

  it('retries a request whose endpoint refused the connection when the route retries 5xx (the 502 it stands for)', async () => {
    const { proxy, dst, policy } = await meshed();
    const good = await app('good');
    const gone = await app('gone');
    const closed = gone.port;
    await new Promise<void>((r) => gone.server.close(() => r()));
    endpoints(dst, 'books-v1', closed, good.port);
    const retry = { maxRetries: 3, conditions: { statusRanges: [{ start: 500, end: 599 }] }, backoff: { minBackoff: durationFromMillis(1), maxBackoff: durationFromMillis(2) } };
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1'), retry }]));
    for (let i = 0; i < 20; i++) expect((await send(proxy.outboundPort, `/r/${i}`)).status).toBe(200);
    expect(good.seen).toHaveLength(20);
  });

  it('ejects an endpoint that keeps failing (consecutive failures), so the other one takes the traffic', async () => {
    const { proxy, dst, policy } = await meshed();
    const bad = await app('bad', (_req, res) => {
      res.statusCode = 500;
      res.end('bad');
    });
    const good = await app('good');
    endpoints(dst, 'books-v1', bad.port, good.port);
    const failureAccrual = { kind: { $case: 'consecutiveFailures' as const, value: { maxFailures: 3, backoff: { minBackoff: durationFromMillis(60_000), maxBackoff: durationFromMillis(120_000), jitterRatio: 0 } } } };
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1') }], failureAccrual));
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await send(proxy.outboundPort, `/e/${i}`)).status);
    // Three failures shut the bad endpoint for a minute: everything after goes to the good one.
    expect(bad.seen.length).toBe(3);
    expect(good.seen.length).toBe(97);
    expect(statuses.filter((s) => s === 500)).toHaveLength(3);
    // The shut endpoint is pending in the balancer gauge.
    const text = await proxy.metrics();
    const labels = 'parent_group="core",parent_kind="Service",parent_namespace="default",parent_name="books",parent_port="80",parent_section_name="",backend_group="core",backend_kind="Service",backend_namespace="default",backend_name="books-v1"';
    expect(sample(text, 'outbound_http_balancer_endpoints', `endpoint_state="ready",${labels}`)).toBe(1);
    expect(sample(text, 'outbound_http_balancer_endpoints', `endpoint_state="pending",${labels}`)).toBe(1);
  });

  it('probes an ejected endpoint once its backoff ends and takes it back when the probe succeeds', async () => {
    const { proxy, dst, policy } = await meshed();
    let healthy = false;
    const flappy = await app('flappy', (_req, res) => {
      res.statusCode = healthy ? 200 : 500;
      res.end('flappy');
    });
    const good = await app('good');
    endpoints(dst, 'books-v1', flappy.port, good.port);
    const failureAccrual = { kind: { $case: 'consecutiveFailures' as const, value: { maxFailures: 2, backoff: { minBackoff: durationFromMillis(1_000), maxBackoff: durationFromMillis(2_000), jitterRatio: 0 } } } };
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1') }], failureAccrual));
    for (let i = 0; flappy.seen.length < 2 && i < 200; i++) await send(proxy.outboundPort, `/a/${i}`);
    expect(flappy.seen).toHaveLength(2);
    // Shut for a second: the next requests all go to the good endpoint.
    for (let i = 0; i < 20; i++) expect((await send(proxy.outboundPort, `/b/${i}`)).status).toBe(200);
    expect(flappy.seen).toHaveLength(2);
    healthy = true;
    // After the backoff one probe goes through; it succeeds, and the endpoint takes its share again.
    await expect.poll(async () => (await send(proxy.outboundPort, '/probe'), flappy.seen.length), { timeout: 5_000, interval: 20 }).toBeGreaterThan(2);
    const before = flappy.seen.length;
    for (let i = 0; i < 60; i++) await send(proxy.outboundPort, `/c/${i}`);
    expect(flappy.seen.length - before).toBeGreaterThan(5);
  });

  it('applies a policy update to new requests while a request in flight on the old route completes', async () => {
    const { proxy, dst, policy } = await meshed();
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const v1 = await app('v1', (req, res) => {
      if (req.url === '/hold') return void held.then(() => res.end('v1 held'));
      res.end('v1');
    });
    const v2 = await app('v2');
    endpoints(dst, 'books-v1', v1.port);
    endpoints(dst, 'books-v2', v2.port);
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v1') }]));
    expect((await send(proxy.outboundPort, '/a')).body).toBe('v1');
    const inflight = send(proxy.outboundPort, '/hold');
    await expect.poll(() => v1.seen.some((r) => r.url === '/hold')).toBe(true);
    policy.push(TARGET, httpPolicy([{ backends: toOne('books-v2') }]));
    await expect.poll(async () => (await send(proxy.outboundPort, '/b')).body).toBe('v2 /b');
    release();
    const done = await inflight;
    expect(done).toMatchObject({ status: 200, body: 'v1 held' });
  });

  it('forwards to the original destination when the policy controller says NotFound', async () => {
    const { proxy, policy } = await meshed();
    const direct = await app('direct');
    proxy.outboundTarget = { ip: '127.0.0.1', port: direct.port };
    policy.answers.set(`127.0.0.1:${direct.port}`, 5);
    expect((await send(proxy.outboundPort, '/x')).body).toBe('direct /x');
    expect(policy.watched.map((w) => w.target)).toContain(`127.0.0.1:${direct.port}`);
  });

  it('uses the ServiceProfile path when the policy controller answers Unimplemented', async () => {
    const { proxy, dst, policy } = await meshed();
    const books = await app('books');
    policy.answers.set(TARGET, 12);
    dst.profiles.set(TARGET, destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local' }));
    endpoints(dst, 'books', books.port);
    // 10.96.0.10 is not reachable: only the profile's service resolution reaches the app.
    expect((await send(proxy.outboundPort, '/p')).body).toBe('books /p');
    expect(policy.watched.map((w) => w.target)).toContain(TARGET);
  });

  it('follows a policy that arrives after the target was resolved without it, on the open keep-alive connection too', async () => {
    const { proxy, dst, policy } = await meshed();
    const books = await app('books');
    const v2 = await app('v2');
    endpoints(dst, 'books', books.port);
    endpoints(dst, 'books-v2', v2.port);
    dst.profiles.set(TARGET, destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local' }));
    // A slow controller: no answer within the proxy's 3 s wait, so the first connection takes the profile path.
    policy.held.add(TARGET);
    expect((await send(proxy.outboundPort, '/early')).body).toBe('books /early');
    // An open connection keeps the target in use, so only the late policy (not idle eviction) can move it.
    const holder = netConnect(proxy.outboundPort, '127.0.0.1');
    cleanups.push(() => holder.destroy());
    await new Promise((r) => holder.once('connect', r));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    expect((await send(proxy.outboundPort, '/before', {}, 'GET', agent)).body).toBe('books /before');
    policy.push(TARGET, httpPolicy([{ backends: toOne('books-v2') }]));
    await expect.poll(async () => (await send(proxy.outboundPort, '/late', {}, 'GET', agent)).body, { timeout: 4_000, interval: 100 }).toBe('v2 /late');
    expect((await send(proxy.outboundPort, '/again', {}, 'GET', agent)).reused).toBe(true);
  }, 15_000);

  it('prefers a ServiceProfile with routes over the policy routes, following the profile as it gains and loses them', async () => {
    const { proxy, dst, policy } = await meshed();
    const books = await app('books');
    const v2 = await app('v2');
    endpoints(dst, 'books', books.port);
    endpoints(dst, 'books-v2', v2.port);
    policy.answers.set(TARGET, httpPolicy([{ backends: toOne('books-v2') }]));
    const plain = destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'books.default.svc.cluster.local' });
    const routed = destination.DestinationProfile.fromPartial({
      fullyQualifiedName: 'books.default.svc.cluster.local',
      routes: [{ condition: { match: { $case: 'path', value: { regex: '/.*' } } }, metricsLabels: { route: 'all' } }],
    });
    dst.profiles.set(TARGET, routed);
    expect((await send(proxy.outboundPort, '/sp')).body).toBe('books /sp');
    expect(v2.seen).toHaveLength(0);
    // The profile loses its routes: the policy routes new requests; it gains them back: the profile does.
    dst.pushProfile(TARGET, plain);
    await expect.poll(async () => (await send(proxy.outboundPort, '/p1')).body).toBe('v2 /p1');
    dst.pushProfile(TARGET, routed);
    await expect.poll(async () => (await send(proxy.outboundPort, '/p2')).body).toBe('books /p2');
  });

  it('forwards an opaque policy, and what a Detect policy finds is not HTTP, as TCP through the opaque route backend, and refuses a forbidden one', async () => {
    const { proxy, dst, policy } = await meshed();
    const echo = createNetServer((s) => s.pipe(s));
    const echoPort = await listenOn(echo);
    cleanups.push(() => echo.close());
    endpoints(dst, 'db', echoPort);
    const opaque = (filters: object[]) =>
      outbound.OutboundPolicy.fromPartial({
        metadata: service('db'),
        protocol: { kind: { $case: 'opaque', value: { routes: [{ metadata: { kind: { $case: 'default', value: 'opaq' } }, rules: [{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: backend('db') }] } } }, filters }] }] } } },
      });
    policy.answers.set(TARGET, opaque([]));
    const roundTrip = (payload: string) =>
      new Promise<string>((resolve, reject) => {
        const s = netConnect(proxy.outboundPort, '127.0.0.1', () => s.write(payload));
        let got = '';
        s.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.length >= payload.length) s.end();
        });
        s.on('close', () => resolve(got));
        s.on('error', reject);
      });
    // Not HTTP at all, and not sniffed: the bytes come back from the echo server.
    expect(await roundTrip('\x00\x01binary hello')).toBe('\x00\x01binary hello');
    proxy.outboundTarget = { ip: '10.96.0.11', port: 5432 };
    policy.answers.set('10.96.0.11:5432', opaque([{ kind: { $case: 'forbidden', value: {} } }]));
    await expect(roundTrip('refused?')).rejects.toThrow();
    // A Detect policy: what is not HTTP takes its opaque route, balanced to the echo server (the original
    // destination, 10.96.0.13, is not reachable), or is refused by a forbidden one (the undefined-port policy).
    const detect = (filters: object[]) =>
      outbound.OutboundPolicy.fromPartial({
        metadata: service('db'),
        protocol: {
          kind: {
            $case: 'detect',
            value: {
              timeout: durationFromMillis(10_000),
              http1: { routes: [] },
              http2: { routes: [] },
              opaque: { routes: [{ metadata: { kind: { $case: 'default', value: 'opaq' } }, rules: [{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: backend('db') }] } } }, filters }] }] },
            },
          },
        },
      });
    proxy.outboundTarget = { ip: '10.96.0.13', port: 6000 };
    policy.answers.set('10.96.0.13:6000', detect([]));
    expect(await roundTrip('not http, but long enough to sniff')).toBe('not http, but long enough to sniff');
    proxy.outboundTarget = { ip: '10.96.0.14', port: 6000 };
    policy.answers.set('10.96.0.14:6000', detect([{ kind: { $case: 'forbidden', value: {} } }]));
    await expect(roundTrip('not http, but long enough to sniff')).rejects.toThrow();
    // A port the proxy never sniffs (5432 is among the default opaque ports) takes the opaque route at once.
    proxy.outboundTarget = { ip: '10.96.0.15', port: 5432 };
    policy.answers.set('10.96.0.15:5432', detect([]));
    expect(await roundTrip('pg')).toBe('pg');
  });
});
