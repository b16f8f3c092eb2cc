// The identity agent against a fake identity service (see mesh-fake-identity.ts) over real gRPC and TLS.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IdentityAgent } from '../src/identity/agent.ts';
import type { IdentityConfig } from '../src/identity/config.ts';
import { controlAddr } from '../src/identity/env.ts';
import { grpcCertify } from '../src/identity/grpc-certify.ts';
import { identityMetrics } from '../src/identity/metrics.ts';
import { IDENTITY_SVC_NAME, startFakeIdentity } from './mesh-fake-identity.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';

const ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const log = pino({ level: 'silent' });
let pki: MeshPki;
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  pki = await createMeshPki();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup(opts: { svcName?: string; servingPki?: MeshPki; minRefreshMs?: number } = {}) {
  const fake = await startFakeIdentity(pki, { ...(opts.servingPki ? { servingPki: opts.servingPki } : {}) });
  cleanups.push(() => fake.close());
  fake.accounts.set('token-1', ID);
  fake.accounts.set('token-2', ID);
  const dir = await mkdtemp(join(tmpdir(), 'mesh-identity-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'token-1');
  const config: IdentityConfig = {
    dir: join(dir, 'end-entity'),
    tokenFile,
    trustAnchorsPem: pki.trustAnchorsPem,
    trustAnchors: pki.trustAnchors,
    localName: ID,
    svcAddr: { ...controlAddr('X', fake.addr), loopback: false },
    svcName: opts.svcName ?? IDENTITY_SVC_NAME,
    minRefreshMs: opts.minRefreshMs ?? 10_000,
    maxRefreshMs: 86_400_000,
  };
  const rpc = grpcCertify(config);
  const registry = new Registry();
  const agent = new IdentityAgent({ config, certify: rpc.certify, log, metrics: identityMetrics(registry) });
  cleanups.push(() => {
    agent.stop();
    rpc.close();
  });
  return { fake, agent, registry, config, tokenFile };
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms}ms`)), ms))]);

describe('identity agent over gRPC and TLS', () => {
  it('certifies over TLS verified as the identity service name, writes key.p8 and csr.der, and exports the expiry under both names', async () => {
    const { agent, registry, config } = await setup();
    expect(agent.current()).toBeUndefined();
    await agent.start();
    const creds = await within(agent.ready, 10_000);
    expect(creds.identity).toBe(ID);
    expect(agent.current()).toBe(creds);
    expect((await readFile(join(config.dir, 'key.p8'))).length).toBeGreaterThan(100);
    expect((await readFile(join(config.dir, 'csr.der'))).length).toBeGreaterThan(100);
    const text = await registry.metrics();
    const expiry = String(creds.expiry.getTime() / 1000);
    expect(text).toContain(`identity_cert_expiration_timestamp_seconds ${expiry}`);
    expect(text).toContain(`control_identity_cert_expiration_timestamp_seconds ${expiry}`);
    expect(text).toContain('control_identity_cert_refreshes_total{result="ok"} 1');
  });

  it('renews before expiry, re-reading the token file for each call, and announces each certificate', async () => {
    const { fake, agent, tokenFile } = await setup({ minRefreshMs: 200 });
    fake.lifetimeMs = 2_000;
    await agent.start();
    const first = await within(agent.ready, 10_000);
    await writeFile(tokenFile, 'token-2');
    const next = await within(new Promise<unknown>((resolve) => agent.once('credentials', resolve)), 5_000);
    expect(next).not.toBe(first);
    expect(agent.current()?.generation).toBeGreaterThan(first.generation);
    expect(fake.tokens.slice(0, 2)).toEqual(['token-1', 'token-2']);
  });

  it('stays not ready while the service answers with errors, then becomes ready when it recovers', async () => {
    const { fake, agent, registry } = await setup({ minRefreshMs: 100 });
    fake.failWith = 14;
    await agent.start();
    await expect.poll(() => fake.tokens.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(agent.current()).toBeUndefined();
    expect(await registry.metrics()).toMatch(/control_identity_cert_refreshes_total\{result="error"\} [1-9]/);
    fake.failWith = undefined;
    await within(agent.ready, 5_000);
  });

  it('refuses an identity service whose certificate names another identity', async () => {
    const { fake, agent, registry } = await setup({ svcName: 'someone-else.trellis.serviceaccount.identity.trellis.cluster.local', minRefreshMs: 100 });
    await agent.start();
    // The TLS handshake fails before any call reaches the service.
    await expect.poll(() => registry.metrics(), { timeout: 5_000 }).toMatch(/refreshes_total\{result="error"\} [1-9]/);
    expect(fake.tokens).toEqual([]);
    expect(agent.current()).toBeUndefined();
  });

  it('refuses an identity service whose certificate comes from a foreign trust anchor', async () => {
    const foreign = await createMeshPki('foreign.test');
    const { fake, agent, registry } = await setup({ servingPki: foreign, minRefreshMs: 100 });
    await agent.start();
    await expect.poll(() => registry.metrics(), { timeout: 5_000 }).toMatch(/refreshes_total\{result="error"\} [1-9]/);
    expect(fake.tokens).toEqual([]);
    expect(agent.current()).toBeUndefined();
  });
});
