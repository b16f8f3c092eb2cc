// LINKERD2_PROXY_CORES=2 with TRELLIS_PROXY_WORKER_THREADS=true: two pods with proxy-init's rules, each proxy running its data path on two threads that
// share 4140 and 4143 (SO_REUSEPORT). What a user sees: traffic flows through both threads, one /metrics counts
// every request once, one tap sees the requests of both threads, and SIGTERM drains both.
// Needs root (namespaces, iptables), as CI has.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from './harness.ts';
import { client, metricsOf, NODE, startProxiedPair, stopProxiedPair, type Pod } from './netns.ts';

const TAP = fileURLToPath(new URL('./fixtures/tap-observe.ts', import.meta.url));
const CORES = { LINKERD2_PROXY_CORES: '2', TRELLIS_PROXY_WORKER_THREADS: 'true', LINKERD2_PROXY_TAP_SVC_NAME: 'tap.trellis-viz.serviceaccount.identity.trellis.cluster.local' };

let pods: { client: Pod; server: Pod };
let app: ChildProcess | undefined;
let clientProxy: ChildProcess | undefined;
let serverProxy: ChildProcess | undefined;

beforeAll(async () => {
  ({ pods, app, serverProxy, clientProxy } = await startProxiedPair(89, { server: CORES, client: { ...CORES, LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD: '20s' } }));
}, 60_000);

afterAll(() => stopProxiedPair({ pods, app, serverProxy, clientProxy }));

const srv = () => pods.server.ip;
const accepts = (m: string, thread: number) => sample(m, 'trellis_proxy_thread_accepts_total', `thread="${thread}"`) ?? 0;

/** The tap client in a namespace, left running: the tap must be open before the traffic. */
function openTap(pod: Pod, ...args: string[]): { child: ChildProcess; opened: Promise<void>; result: Promise<Record<string, unknown>> } {
  const child = spawn('ip', ['netns', 'exec', pod.ns, NODE, TAP, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let onOpen: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (onOpen = resolve));
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
    if (out.includes('tap open')) onOpen();
  });
  const result = once(child, 'exit').then(() => JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>);
  return { child, opened, result };
}

describe('a proxy with LINKERD2_PROXY_CORES=2', () => {
  it('serves outbound and inbound connections on both threads, and one /metrics counts each request once', async () => {
    const labels = `direction="outbound",target_addr="${srv()}:8080"`;
    const [outBefore, inBefore] = [await metricsOf(pods.client), await metricsOf(pods.server)];
    const n = 64;
    expect(await client(pods.client, 'connections', srv(), '8080', String(n))).toEqual({ ok: n });
    const [out, inb] = [await metricsOf(pods.client), await metricsOf(pods.server)];
    // 64 connections: the kernel's hash leaves one of two listeners without any with a chance of 2^-63.
    for (const [before, after] of [
      [outBefore, out],
      [inBefore, inb],
    ] as const) {
      expect(accepts(after, 0) - accepts(before, 0)).toBeGreaterThan(0);
      expect(accepts(after, 1) - accepts(before, 1)).toBeGreaterThan(0);
    }
    expect((sample(out, 'request_total', labels) ?? 0) - (sample(outBefore, 'request_total', labels) ?? 0)).toBe(n);
    expect((sample(out, 'response_total', `${labels},target_ip="${srv()}"`) ?? 0) - (sample(outBefore, 'response_total', `${labels},target_ip="${srv()}"`) ?? 0)).toBe(n);
    const inLabels = `direction="inbound",target_addr="${srv()}:8080"`;
    expect((sample(inb, 'request_total', inLabels) ?? 0) - (sample(inBefore, 'request_total', inLabels) ?? 0)).toBe(n);
    // Each family once in the exposition, whatever the number of threads holding series of it.
    expect(out.match(/^# TYPE request_total /gm)).toHaveLength(1);
    expect(out.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
  });

  it('taps the requests of both threads in one Observe call, up to its limit', async () => {
    const n = 24;
    const tap = openTap(pods.client, '127.0.0.1:4190', String(n));
    try {
      await tap.opened;
      const before = await metricsOf(pods.client);
      expect(await client(pods.client, 'connections', srv(), '8080', String(n))).toEqual({ ok: n });
      const r = await tap.result;
      // Init, response init and end for each of the n requests, each request its own stream id; the call ended at its limit.
      expect(r).toEqual({ code: 0, events: 3 * n, requests: n, streams: n });
      const after = await metricsOf(pods.client);
      expect(accepts(after, 0) - accepts(before, 0)).toBeGreaterThan(0);
      expect(accepts(after, 1) - accepts(before, 1)).toBeGreaterThan(0);
    } finally {
      tap.child.kill();
    }
  });

  it('drains both threads on SIGTERM: requests in flight finish, new connections are refused, then it exits', async () => {
    const proxy = clientProxy as ChildProcess;
    const before = await metricsOf(pods.client);
    const slow = client<{ bodies: string[]; ms: number }>(pods.client, 'slow', srv(), '8080', '16');
    // Wait until all 16 are in flight on the client proxy (sixteen open connections to the server).
    await expect
      .poll(async () => sample(await metricsOf(pods.client), 'tcp_open_connections', `direction="outbound",peer="src",target_addr="${srv()}:8080"`) ?? 0, { timeout: 30_000, interval: 100 })
      .toBe(16);
    const during = await metricsOf(pods.client);
    expect(accepts(during, 0) - accepts(before, 0)).toBeGreaterThan(0);
    expect(accepts(during, 1) - accepts(before, 1)).toBeGreaterThan(0);
    const exited = once(proxy, 'exit');
    proxy.kill('SIGTERM');
    // Both threads stopped accepting: a new connection is refused (4140 has no listener left).
    await expect.poll(async () => (await client<{ failed?: string; status?: number }>(pods.client, 'get', srv(), '8080', '/')).failed ?? 'served', { timeout: 4000 }).toMatch(/ECONNREFUSED/);
    const r = await slow;
    expect(r.bodies).toEqual(Array.from({ length: 16 }, () => 'slow done'));
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    clientProxy = undefined;
  }, 90_000);
});
