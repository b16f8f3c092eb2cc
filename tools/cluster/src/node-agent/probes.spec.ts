import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { awaitHookPort, probeTiming, resolvePort, runHandler, type ProbeTarget } from './probes.ts';

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((req, res) => res.writeHead(req.url === '/ready' ? 200 : 503).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => server.close(r)));

// The test server stands in for a pod at 127.0.0.1; every other address is "outside".
const target = (container: object = {}): ProbeTarget => ({
  podIP: '127.0.0.1',
  container,
  isPodAddress: (ip) => ip === '127.0.0.1',
  exec: async (command) => ({ code: command[0] === 'true' ? 0 : 1, output: 'nope' }),
});

describe('probes', () => {
  it('passes an HTTP probe on 2xx and fails it on other statuses', async () => {
    expect(await runHandler({ httpGet: { path: '/ready', port } }, target(), 1000)).toEqual({ ok: true });
    expect(await runHandler({ httpGet: { path: '/live', port } }, target(), 1000)).toEqual({ ok: false, message: 'HTTP probe failed with statuscode: 503' });
  });

  it('resolves named ports from the container and runs TCP and exec probes', async () => {
    const c = { ports: [{ name: 'admin', containerPort: port }] };
    expect(resolvePort('admin', c)).toBe(port);
    expect(await runHandler({ tcpSocket: { port: 'admin' } }, target(c), 1000)).toEqual({ ok: true });
    expect(await runHandler({ tcpSocket: { port: 'nope' } }, target(c), 1000)).toMatchObject({ ok: false, message: expect.stringContaining('not found') });
    expect(await runHandler({ exec: { command: ['true'] } }, target(), 1000)).toEqual({ ok: true });
    expect(await runHandler({ exec: { command: ['false'] } }, target(), 1000)).toMatchObject({ ok: false });
  });

  it('refuses a probe host outside the pod range without connecting', async () => {
    expect(await runHandler({ httpGet: { host: '192.0.2.1', path: '/', port } }, target(), 1000)).toEqual({ ok: false, message: 'probe host 192.0.2.1 is outside this node\'s pod range: refused' });
  });

  it('applies Kubernetes defaults to probe timing', () => {
    expect(probeTiming({})).toEqual({ initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, success: 1, failure: 3 });
  });

  it('recognises linkerd-await hooks with their port and timeout', () => {
    expect(awaitHookPort(['/usr/lib/linkerd/linkerd-await', '--timeout=2m', '--port=4191'])).toEqual({ port: 4191, timeoutMs: 120_000 });
    expect(awaitHookPort(['/bin/true'])).toBeUndefined();
  });
});
