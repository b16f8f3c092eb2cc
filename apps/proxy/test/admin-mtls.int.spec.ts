// The admin port as a meshed Prometheus reaches it: its proxy connects with mTLS (the target's identity as server
// name, its own certificate) and speaks HTTP/1, or HTTP/2 when it upgraded the scrape between proxies. Kubelet
// probes keep plaintext HTTP/1. Before, the admin port spoke plaintext only, and a meshed Prometheus' scrapes of
// every proxy failed (502 from its own proxy).
import { once } from 'node:events';
import { connect as h2Connect } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { asPriorKnowledgeH2 } from '../src/tls/h2-prior-knowledge.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { createMeshPki } from './mesh-pki.ts';
import { startStubDestination } from './mesh-stub-destination.ts';

const TARGET = 'web.default.serviceaccount.identity.trellis.cluster.local';
const PROMETHEUS = 'prometheus.trellis-viz.serviceaccount.identity.trellis.cluster.local';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One HTTP/1 exchange on an open socket, Connection: close; resolves with everything the server sent. */
function exchange(s: TLSSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write(text);
  });
}

async function meshedProxy() {
  const pki = await createMeshPki();
  const identity = await startFakeIdentity(pki, { tls: false });
  const dst = await startStubDestination(pki, { tls: false });
  cleanups.push(() => identity.close(), () => dst.close());
  const p = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: TARGET });
  cleanups.push(() => p.proxy.close());
  await expect.poll(async () => (await fetch(`${p.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);
  const prometheus = new MeshTls({ current: () => creds });
  const creds = await pki.issue(PROMETHEUS);
  const port = p.proxy.admin.port;
  return { p, port, connect: () => prometheus.connect({ addr: `127.0.0.1:${port}`, host: '127.0.0.1', port, serverId: TARGET }) };
}

describe('the admin port for a meshed scraper', () => {
  it('serves /metrics over mTLS in HTTP/1, having verified the scraper\'s identity', async () => {
    const { connect } = await meshedProxy();
    const s = await connect();
    expect(s.getPeerCertificate().subjectaltname).toContain(TARGET);
    const out = await exchange(s, 'GET /metrics HTTP/1.1\r\nHost: 10.0.0.1:4191\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).toContain('identity_cert_expiration_timestamp_seconds');
  });

  it('serves HTTP/2 over mTLS (a scrape its proxy upgraded), with l5d-orig-proto as a peer proxy sends it', async () => {
    const { connect } = await meshedProxy();
    const s = asPriorKnowledgeH2(await connect());
    const session = h2Connect('http://10.0.0.1:4191', { createConnection: () => s });
    cleanups.push(() => session.destroy());
    const req = session.request({ ':method': 'GET', ':path': '/metrics', 'l5d-orig-proto': 'HTTP/1.1' });
    const [headers] = (await once(req, 'response')) as [Record<string, string | number>];
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    await once(req, 'end');
    expect(headers[':status']).toBe(200);
    expect(body).toContain('identity_cert_expiration_timestamp_seconds');
  });

  it('keeps plaintext HTTP/1 for probes, and closes TLS meant for another name', async () => {
    const { p, port } = await meshedProxy();
    expect(await (await fetch(`${p.adminUrl}/live`)).text()).toBe('live\n');
    const other = tlsConnect({ host: '127.0.0.1', port, servername: 'db.default.svc.cluster.local', rejectUnauthorized: false });
    const closed = await new Promise<string>((resolve) => {
      other.once('secureConnect', () => resolve('handshake completed'));
      other.once('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`));
      other.once('close', () => resolve('closed'));
    });
    expect(closed).not.toBe('handshake completed');
  });
});
