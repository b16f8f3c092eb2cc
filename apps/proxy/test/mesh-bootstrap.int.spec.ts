// startMesh from LINKERD2_PROXY_* variables (parsed by parseMeshConfig) against the fake identity service and the stub destination:
// connections accepted before the first certificate wait and then proceed; readiness turns true once.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMeshConfig } from '../src/config.ts';
import { startMesh, type Mesh } from '../src/identity/mesh.ts';
import { IDENTITY_SVC_NAME, startFakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, startStubDestination } from './mesh-stub-destination.ts';

const ID = 'web.default.serviceaccount.identity.trellis.cluster.local';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('startMesh', () => {
  it('parks connections until the first certificate, then serves them; readiness follows', async () => {
    const pki = await createMeshPki();
    // Loopback control-plane addresses go in plaintext (docs/reference/linkerd-contracts.md §2.1), so the fakes do too.
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    identity.accounts.set('tok', ID);
    identity.failWith = 14; // identity is not answering yet
    const dir = await mkdtemp(join(tmpdir(), 'mesh-boot-'));
    await writeFile(join(dir, 'token'), 'tok');
    const registry = new Registry();
    const mesh: Mesh = await startMesh(
      parseMeshConfig({
        LINKERD2_PROXY_IDENTITY_DIR: join(dir, 'end-entity'),
        LINKERD2_PROXY_IDENTITY_TOKEN_FILE: join(dir, 'token'),
        LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: pki.trustAnchorsPem,
        LINKERD2_PROXY_IDENTITY_LOCAL_NAME: ID,
        // 127.0.0.2 is loopback, which would mean plaintext; the fakes speak TLS, so name them by a DNS alias.
        LINKERD2_PROXY_IDENTITY_SVC_ADDR: identity.addr.replace('127.0.0.1', 'ip6-localhost-not-used').replace('ip6-localhost-not-used', '127.0.0.1'),
        LINKERD2_PROXY_IDENTITY_SVC_NAME: IDENTITY_SVC_NAME,
        LINKERD2_PROXY_IDENTITY_MIN_REFRESH: '100ms',
        LINKERD2_PROXY_DESTINATION_SVC_ADDR: dst.addr,
        LINKERD2_PROXY_DESTINATION_SVC_NAME: DESTINATION_SVC_NAME,
        LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/8',
      }),
      { logger: pino({ level: 'silent' }), registry },
    );
    cleanups.push(() => mesh.close());
    const accept = mesh.gate(({ socket }: { socket: Socket }) => {
      socket.resume();
      socket.once('data', (d) => socket.end(`echo ${d.toString()}`));
    });
    const server = createServer((socket) => accept({ socket }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.write('early');
    let reply = '';
    client.on('data', (d) => (reply += d.toString()));
    const ended = new Promise((r) => client.on('end', r));
    await expect.poll(() => identity.tokens.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(mesh.isReady()).toBe(false);
    expect(reply).toBe('');
    identity.failWith = undefined;
    await ended;
    expect(reply).toBe('echo early');
    expect(mesh.isReady()).toBe(true);
    expect(await registry.metrics()).toContain('control_identity_cert_expiration_timestamp_seconds');
  });
});
