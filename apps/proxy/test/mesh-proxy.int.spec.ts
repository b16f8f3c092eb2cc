// The proxy started as the injector starts it (identity and destination variables, no plaintext switch):
// it binds at once, obtains its certificate, turns ready, and serves the connections that waited for it.
import { createServer, request, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOn } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination } from './mesh-stub-destination.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(port: number, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function app(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => res.end(`app saw ${req.url} client-id=${String(req.headers['l5d-client-id'] ?? '-')}`));
  const port = await listenOn(server);
  cleanups.push(() => server.close());
  return { server, port };
}

describe('meshed proxy start', () => {
  it('is not ready and parks clients until identity answers, then serves the early client', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    identity.failWith = 14;
    const p = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: WEB });
    cleanups.push(() => p.proxy.close());
    const { port } = await app();
    p.inboundTarget = { ip: '127.0.0.1', port };

    expect((await fetch(`${p.adminUrl}/ready`)).status).toBe(503);
    const early = get(p.inboundPort, '/early');
    await expect.poll(() => identity.tokens.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(p.proxy.mesh?.isReady()).toBe(false);
    identity.failWith = undefined;
    const res = await early;
    expect(res.status).toBe(200);
    // A plaintext client has no identity: any l5d-client-id it might send is not set by the proxy.
    expect(res.body).toBe('app saw /early client-id=-');
    expect((await fetch(`${p.adminUrl}/ready`)).status).toBe(200);
    expect(await p.metrics()).toContain('identity_cert_expiration_timestamp_seconds');
  });
});
