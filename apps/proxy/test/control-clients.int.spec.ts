// The control clients' own supervision over real gRPC and mTLS (control-clients.ts): a connection attempt that
// never completes is abandoned after its allowance, and a watch whose peer left the service's name is moved to a
// new client. The name's answers are scripted (the lookup is injected); grpc-js resolves "localhost" itself.
import { createServer, type Server, type Socket } from 'node:net';
import { destination, tcpAddress } from '@trellis/proto';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveryConfig } from '../src/discovery/config.ts';
import { Discovery } from '../src/discovery/discovery.ts';
import { destinationClients } from '../src/discovery/grpc-destination.ts';
import { controlMetrics } from '../src/identity/control-metrics.ts';
import type { Credentials } from '../src/identity/credentials.ts';
import { controlAddr } from '../src/identity/env.ts';
import { sample } from './harness.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, startStubDestination } from './mesh-stub-destination.ts';

const SVC = 'emoji-svc.emojivoto.svc.cluster.local:8080';
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined };
const timing = { tickMs: 20, kickEveryMs: 100, connectAllowanceMs: 300, maxConnectAllowanceMs: 1_000, lookupEveryMs: 100 };
let pki: MeshPki;
let creds: Credentials;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pki = await createMeshPki();
  creds = await pki.issue('web.emojivoto.serviceaccount.identity.trellis.cluster.local');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function config(host: string, port: number): DiscoveryConfig {
  return {
    svcAddr: { ...controlAddr('X', `${host}:${port}`), loopback: false },
    svcName: DESTINATION_SVC_NAME,
    contextToken: '',
    profileNetworks: [],
    profileSuffixes: ['svc.cluster.local.'],
    streamInitialTimeoutMs: 3_000,
    streamIdleTimeoutMs: 300_000,
    streamLifetimeMs: 3_600_000,
    idleTimeoutMs: 5_000,
    profileInitialTimeoutMs: 500,
  };
}

/** A TCP server that accepts and then never says a word: a TLS handshake with it never ends. */
async function silentServer(): Promise<{ server: Server; port: number }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { server, port: (server.address() as { port: number }).port };
}

const add = (ip: string) => destination.Update.fromPartial({ update: { $case: 'add', value: { addrs: [{ addr: tcpAddress(ip, 8080), weight: 10000 }], metricLabels: {} } } });

describe('control clients', () => {
  it('abandons a connection attempt that does not complete within its allowance, and releases who waits on it', async () => {
    const { port } = await silentServer();
    const registry = new Registry();
    const clients = destinationClients(config('127.0.0.1', port), pki.trustAnchorsPem, { current: () => creds }, controlMetrics(registry), { timing });
    cleanups.push(() => clients.close());
    const started = Date.now();
    const err = await new Promise<Error | undefined>((resolve) => clients.ready(Date.now() + 10_000, resolve));
    expect(err?.message).toBe('connecting to the control plane timed out');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(sample(await registry.metrics(), 'trellis_control_client_replacements_total', 'reason="connect_timeout"')).toBe(1);
  });

  it('moves a watch whose peer left the service name to a new client, which resolves the name again', async () => {
    const stub = await startStubDestination(pki);
    cleanups.push(() => stub.close());
    stub.services.set(SVC, [add('10.0.0.1')]);
    const port = Number(stub.addr.slice(stub.addr.lastIndexOf(':') + 1));
    let answer = new Set(['127.0.0.1', '::1']);
    const registry = new Registry();
    const metrics = controlMetrics(registry);
    const cfg = config('localhost', port);
    const clients = destinationClients(cfg, pki.trustAnchorsPem, { current: () => creds }, metrics, { timing, lookup: () => Promise.resolve(answer) });
    const discovery = new Discovery(cfg, clients.get, quiet, { metrics, ready: clients.ready });
    cleanups.push(() => clients.close(), () => discovery.close());

    const lease = discovery.resolve(SVC);
    await expect.poll(() => [...lease.value.all()].map((e) => e.addr)).toEqual(['10.0.0.1:8080']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stub.requests.filter((r) => r.method === 'get')).toHaveLength(1);

    // The name no longer gives the address the stream is on: the stream is failed and opened again.
    answer = new Set(['10.255.0.1']);
    await expect.poll(async () => sample(await registry.metrics(), 'trellis_control_client_replacements_total', 'reason="peer_left"') ?? 0).toBeGreaterThanOrEqual(1);
    answer = new Set(['127.0.0.1', '::1']);
    await expect.poll(() => stub.requests.filter((r) => r.method === 'get').length).toBeGreaterThanOrEqual(2);
    await expect.poll(async () => sample(await registry.metrics(), 'trellis_control_watches', 'rpc="io.linkerd.proxy.destination.Destination/Get",state="live"')).toBe(1);
    expect([...lease.value.all()].map((e) => e.addr)).toEqual(['10.0.0.1:8080']);
  });

  it('dials the fallback address while the name gives no address, and the name again once it does', async () => {
    // Two controllers: one behind the name (grpc-js resolves "localhost" itself), one behind the fallback address
    // (the Service's, here 127.0.0.1), each serving the same endpoints.
    const named = await startStubDestination(pki);
    const service = await startStubDestination(pki);
    cleanups.push(() => named.close(), () => service.close());
    for (const s of [named, service]) s.services.set(SVC, [add('10.0.0.1')]);
    const portOf = (addr: string) => Number(addr.slice(addr.lastIndexOf(':') + 1));
    const gets = (s: typeof named) => s.requests.filter((r) => r.method === 'get').length;
    let answer = new Set(['127.0.0.1', '::1']);
    const registry = new Registry();
    const metrics = controlMetrics(registry);
    const cfg = { ...config('localhost', portOf(named.addr)), fallbackAddr: { ...controlAddr('X', `127.0.0.1:${portOf(service.addr)}`), loopback: false } };
    const warnings: { reason?: string; fallback?: string }[] = [];
    const log = { warn: (o: object) => warnings.push(o as { reason?: string; fallback?: string }) };
    const clients = destinationClients(cfg, pki.trustAnchorsPem, { current: () => creds }, metrics, { timing, log, lookup: () => Promise.resolve(answer) });
    const discovery = new Discovery(cfg, clients.get, quiet, { metrics, ready: clients.ready });
    cleanups.push(() => clients.close(), () => discovery.close());

    const lease = discovery.resolve(SVC);
    await expect.poll(() => [...lease.value.all()].map((e) => e.addr)).toEqual(['10.0.0.1:8080']);
    expect([gets(named), gets(service)]).toEqual([1, 0]);

    // The name answers nothing (its pod gone, no other ready): the watch moves to the fallback address.
    answer = new Set();
    await expect.poll(() => gets(service)).toBe(1);
    expect(warnings).toContainEqual(expect.objectContaining({ reason: 'name_empty', fallback: cfg.fallbackAddr.text }));
    expect(sample(await registry.metrics(), 'trellis_control_client_replacements_total', 'reason="name_empty"')).toBe(1);

    // The name answers again: the watch moves back to a client on the name.
    answer = new Set(['127.0.0.1', '::1']);
    await expect.poll(() => gets(named)).toBe(2);
    expect(sample(await registry.metrics(), 'trellis_control_client_replacements_total', 'reason="name_back"')).toBe(1);
    await expect.poll(async () => sample(await registry.metrics(), 'trellis_control_watches', 'rpc="io.linkerd.proxy.destination.Destination/Get",state="live"')).toBe(1);
    expect([...lease.value.all()].map((e) => e.addr)).toEqual(['10.0.0.1:8080']);
  });

  it('without a fallback address waits for the name, as before', async () => {
    const dead = await silentServer();
    const registry = new Registry();
    const clients = destinationClients(config('localhost', dead.port), pki.trustAnchorsPem, { current: () => creds }, controlMetrics(registry), { timing, lookup: () => Promise.resolve(new Set<string>()) });
    cleanups.push(() => clients.close());
    const err = await new Promise<Error | undefined>((resolve) => clients.ready(Date.now() + 1_000, resolve));
    expect(err).toBeDefined();
    expect(sample(await registry.metrics(), 'trellis_control_client_replacements_total', 'reason="name_empty"')).toBeUndefined();
  });
});
