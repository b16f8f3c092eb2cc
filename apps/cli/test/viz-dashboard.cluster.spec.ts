// `trellis viz dashboard` through the API server's service proxy, against the real API server: the dashboard's
// Service has no pods here (the shared cluster runs none, so no port-forward can answer) but endpoints on this
// machine's own non-loopback address, where a FAKE dashboard (it answers the page's first calls) listens; the API
// server's service proxy really connects to it. The command falls back to the service proxy, or goes straight there
// with --proxy, and serves the dashboard on localhost with the kubeconfig's credentials.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runVizDashboard } from '../src/commands/viz-check.ts';

const kubeconfig = inject('kubeconfig');
const KUBECTL = join(import.meta.dirname, '..', '..', '..', 'tools/bin/kubectl');
const ns = `trellis-vizdash-${randomBytes(3).toString('hex')}`;

const kubectl = (args: readonly string[], stdin = '') =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
    child.stdin?.end(stdin);
  });

/** The API server refuses to proxy to loopback: the fake listens on an address of this machine that is not. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('this machine has no non-loopback IPv4 address for the API server to proxy to');
}

let fake: Server;
const seen: string[] = [];

/**
 * The Service `web` (port http) with endpoints at host:port, as the chart names the dashboard's. The API server's
 * service proxy only goes to an address a Pod holds (the endpoint's targetRef): a Pod object carries this machine's
 * address in its status, as a kubelet would have reported it.
 */
async function pointWebAt(host: string, port: number): Promise<void> {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-fake', namespace: ns }, spec: { containers: [{ name: 'web', image: 'trellis/web:fake' }] } };
  await kubectl(['apply', '-f', '-'], JSON.stringify(pod));
  await kubectl(['-n', ns, 'patch', 'pod', 'web-fake', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: host, podIPs: [{ ip: host }] } })]);
  const items = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { ports: [{ name: 'http', port: 8084, targetPort: port }] } },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web', namespace: ns },
      subsets: [{ addresses: [{ ip: host, targetRef: { kind: 'Pod', namespace: ns, name: 'web-fake' } }], ports: [{ name: 'http', port }] }],
    },
  ];
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

/** A GET to the local server with the Host header given (fetch would not let us set it). */
function get(port: number, path: string, host = `localhost:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function dashboard(...args: string[]) {
  let out = '';
  let err = '';
  let stop!: () => void;
  const until = new Promise<void>((r) => (stop = r));
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, readStdin: async () => '' };
  const done = runVizDashboard([...args, '--kubeconfig', kubeconfig], io, until, ns).catch((e: Error) => {
    err += e.message;
    return 1;
  });
  // Serving once the URL is printed (or failed).
  for (const deadline = Date.now() + 60_000; !out.includes('http://localhost:') && !err.includes('did not answer'); ) {
    if (Date.now() > deadline) throw new Error(`no URL printed within 60 s: ${out} ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { out: () => out, err: () => err, port: Number(/http:\/\/localhost:(\d+)/.exec(out)?.[1]), stop: async () => (stop(), done) };
}

beforeAll(async () => {
  fake = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/api/config') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"grafanaUrl":null}');
    if (req.url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Trellis</title><script src="app.js"></script>');
    res.writeHead(404).end('no such page');
  });
  fake.listen(0, '0.0.0.0');
  await once(fake, 'listening');
  await kubectl(['create', 'namespace', ns]);
  await pointWebAt(hostAddress(), (fake.address() as AddressInfo).port);
});

afterAll(async () => {
  fake?.closeAllConnections();
  await new Promise((r) => fake?.close(r));
  await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
});

describe('trellis viz dashboard through the service proxy', () => {
  it('falls back to the service proxy when no port-forward answers, prints the URL, and serves the dashboard there', async () => {
    const d = await dashboard('--port', '0');
    try {
      expect(d.out()).toBe(`Trellis dashboard available at:\nhttp://localhost:${d.port}\n`);
      expect(d.err()).toMatch(new RegExp(`^Port-forward unavailable \\(no running pod behind Service ${ns}/web\\): serving the dashboard through the API server's service proxy, https://127\\.0\\.0\\.1:\\d+/api/v1/namespaces/${ns}/services/web:http/proxy/\n$`));
      const page = await get(d.port, '/');
      expect(page).toEqual({ status: 200, body: '<!doctype html><title>Trellis</title><script src="app.js"></script>' });
      expect(await get(d.port, '/api/config')).toEqual({ status: 200, body: '{"grafanaUrl":null}' });
      // Every request went through the API server (its service proxy is what called the fake).
      expect(seen).toContain('/');
    } finally {
      expect(await d.stop()).toBe(0);
    }
  });

  it('goes straight to the service proxy with --proxy, and relays nothing outside the Service or for another host', async () => {
    const d = await dashboard('--proxy', '--port', '0');
    try {
      expect(d.err()).toMatch(/^serving the dashboard through the API server's service proxy, https:/);
      expect(await get(d.port, '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/namespaces')).toEqual({ status: 400, body: 'path outside the dashboard\n' });
      expect((await get(d.port, '/', 'dashboard.evil.example')).status).toBe(403);
      expect((await get(d.port, '/nope')).status).toBe(404);
    } finally {
      await d.stop();
    }
  });

  it('says why when neither way answers', async () => {
    const closed = createServer().listen(0, '0.0.0.0');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await pointWebAt(hostAddress(), port);
    try {
      const d = await dashboard('--port', '0');
      expect(d.out()).toBe('');
      expect(d.err()).toMatch(new RegExp(`^the dashboard did not answer: port-forward: no running pod behind Service ${ns}/web; the API server's service proxy \\(https://.+/services/web:http/proxy/\\): HTTP 50\\d: .+ \\(see trellis viz check\\)$`));
      expect(await d.stop()).toBe(1);
    } finally {
      await pointWebAt(hostAddress(), (fake.address() as AddressInfo).port);
    }
  });
});
