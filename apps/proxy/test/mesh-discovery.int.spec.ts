// Discovery against a stub destination service (see mesh-stub-destination.ts) over real gRPC and mTLS.
import { parseCidrList } from '@trellis/config';
import { destination, tcpAddress } from '@trellis/proto';
import { Registry } from 'prom-client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveryConfig } from '../src/discovery/config.ts';
import { Discovery } from '../src/discovery/discovery.ts';
import { destinationClients } from '../src/discovery/grpc-destination.ts';
import type { Credentials } from '../src/identity/credentials.ts';
import { controlMetrics } from '../src/identity/control-metrics.ts';
import { controlAddr } from '../src/identity/env.ts';
import { sample } from './harness.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { DESTINATION_SVC_NAME, startStubDestination, type StubDestination } from './mesh-stub-destination.ts';

const SVC = 'emoji-svc.emojivoto.svc.cluster.local:8080';
const TOKEN = '{"ns":"emojivoto","nodeName":"node-1","pod":"web-0"}';
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined };
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

const add = (...ips: string[]) =>
  destination.Update.fromPartial({ update: { $case: 'add', value: { addrs: ips.map((ip) => ({ addr: tcpAddress(ip, 8080), weight: 10000 })), metricLabels: {} } } });

async function setup(over: Partial<DiscoveryConfig> = {}, registry?: Registry): Promise<{ stub: StubDestination; discovery: Discovery; config: DiscoveryConfig }> {
  const stub = await startStubDestination(pki);
  cleanups.push(() => stub.close());
  const config: DiscoveryConfig = {
    svcAddr: { ...controlAddr('X', stub.addr), loopback: false },
    svcName: DESTINATION_SVC_NAME,
    contextToken: TOKEN,
    profileNetworks: parseCidrList('X', '10.0.0.0/8'),
    profileSuffixes: ['svc.cluster.local.'],
    streamInitialTimeoutMs: 3_000,
    streamIdleTimeoutMs: 300_000,
    streamLifetimeMs: 3_600_000,
    idleTimeoutMs: 5_000,
    profileInitialTimeoutMs: 500,
    ...over,
  };
  const metrics = registry ? controlMetrics(registry) : undefined;
  const clients = destinationClients(config, pki.trustAnchorsPem, { current: () => creds }, metrics);
  const discovery = new Discovery(config, clients.get, quiet, { ...(metrics ? { metrics } : {}), ready: clients.ready });
  cleanups.push(() => clients.close(), () => discovery.close());
  return { stub, discovery, config };
}

const addrs = (set: Iterable<{ addr: string }>) => [...set].map((e) => e.addr).sort();

describe('discovery over mTLS', () => {
  it('streams endpoints of an authority with the context token, sharing one stream among holders', async () => {
    const { stub, discovery } = await setup();
    stub.services.set(SVC, [add('10.0.0.1', '10.0.0.2')]);
    const a = discovery.resolve(SVC);
    const b = discovery.resolve(SVC);
    await expect.poll(() => addrs(a.value.all())).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    expect(b.value).toBe(a.value);
    expect(stub.requests).toEqual([{ method: 'get', path: SVC, token: TOKEN }]);
    stub.push(SVC, destination.Update.fromPartial({ update: { $case: 'remove', value: { addrs: [tcpAddress('10.0.0.1', 8080)] } } }));
    await expect.poll(() => addrs(a.value.all())).toEqual(['10.0.0.2:8080']);
  });

  it('reports NotFound so the caller forwards to the original destination', async () => {
    const { discovery } = await setup();
    const lease = discovery.resolve('nope.emojivoto.svc.cluster.local:80');
    await expect.poll(() => lease.value.notFound).toBe(true);
    expect(lease.value.size).toBe(0);
  });

  it('re-subscribes after the stream fails, and the first new answer replaces the old set', async () => {
    const { stub, discovery } = await setup();
    stub.services.set(SVC, [add('10.0.0.1', '10.0.0.2')]);
    const lease = discovery.resolve(SVC);
    await expect.poll(() => lease.value.size).toBe(2);
    stub.services.set(SVC, [add('10.0.0.3')]);
    stub.fail(SVC, 14);
    await expect.poll(() => addrs(lease.value.all()), { timeout: 5_000 }).toEqual(['10.0.0.3:8080']);
    expect(stub.requests.filter((r) => r.method === 'get')).toHaveLength(2);
  });

  it('re-subscribes when the first message does not come within the initial timeout', async () => {
    const { stub, discovery } = await setup({ streamInitialTimeoutMs: 200, streamIdleTimeoutMs: 200 });
    stub.services.set(SVC, []);
    stub.silent.add(SVC);
    discovery.resolve(SVC);
    await expect.poll(() => stub.requests.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
  });

  it('closes the streams of a target nobody used for the idle timeout', async () => {
    const { stub, discovery } = await setup({ idleTimeoutMs: 100 });
    stub.services.set(SVC, [add('10.0.0.1')]);
    const lease = discovery.resolve(SVC);
    await expect.poll(() => lease.value.size).toBe(1);
    lease.release();
    await expect.poll(() => discovery.size.endpoints, { timeout: 5_000 }).toBe(0);
    await expect.poll(() => stub.open(SVC), { timeout: 5_000 }).toBe(0);
  });

  it('asks GetProfile only inside the profile networks and suffixes, and reports a missing profile', async () => {
    const { stub, discovery } = await setup();
    expect(discovery.profile('8.8.8.8:443', '8.8.8.8')).toBeUndefined();
    expect(discovery.profile('example.com:443', 'example.com')).toBeUndefined();
    stub.profiles.set('10.96.0.10:8080', destination.DestinationProfile.fromPartial({ fullyQualifiedName: 'emoji-svc.emojivoto.svc.cluster.local', retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 10 } }));
    const known = discovery.profile('10.96.0.10:8080', '10.96.0.10');
    expect((await known?.value.first(3_000))?.fullyQualifiedName).toBe('emoji-svc.emojivoto.svc.cluster.local');
    const unknown = discovery.profile('10.1.2.3:80', '10.1.2.3');
    expect(await unknown?.value.first(3_000)).toBeUndefined();
    expect(unknown?.value.notFound).toBe(true);
    expect(stub.requests.map((r) => r.path)).toEqual(['10.96.0.10:8080', '10.1.2.3:80']);
  });

  it("counts its calls in Linkerd's control_* families and shows the watch's state and reconnects", async () => {
    const registry = new Registry();
    const { stub, discovery, config } = await setup({}, registry);
    stub.services.set(SVC, [add('10.0.0.1')]);
    const lease = discovery.resolve(SVC);
    await expect.poll(() => lease.value.size).toBe(1);
    stub.fail(SVC, 14);
    await expect.poll(() => stub.open(SVC)).toBe(1);
    const text = await registry.metrics();
    const labels = `addr="${config.svcAddr.host}:${config.svcAddr.port}",tls="true",server_id="${DESTINATION_SVC_NAME}"`;
    expect(sample(text, 'control_request_total', `{${labels}}`)).toBe(2);
    expect(sample(text, 'control_response_total', `{${labels},status_code="200",classification="failure",grpc_status="14",error=""}`)).toBe(1);
    expect(sample(text, 'control_response_latency_ms_count', `{${labels},status_code="200"}`)).toBe(2);
    const rpc = `addr="${config.svcAddr.host}:${config.svcAddr.port}",rpc="io.linkerd.proxy.destination.Destination/Get"`;
    expect(sample(text, 'trellis_control_watch_reconnects_total', `{${rpc}}`)).toBe(1);
    expect(sample(text, 'trellis_control_watches', `{${rpc},state="live"}`)).toBe(1);
    expect(sample(text, 'trellis_control_watches', `{${rpc},state="watching"}`)).toBe(0);
  });

  it('re-subscribes within seconds of destination coming back after an outage, whatever its length', async () => {
    const registry = new Registry();
    const { stub, discovery, config } = await setup({}, registry);
    stub.services.set(SVC, [add('10.0.0.1')]);
    const lease = discovery.resolve(SVC);
    await expect.poll(() => lease.value.size).toBe(1);
    stub.kill();
    const rpc = `addr="${config.svcAddr.host}:${config.svcAddr.port}",rpc="io.linkerd.proxy.destination.Destination/Get"`;
    await expect.poll(async () => sample(await registry.metrics(), 'trellis_control_watches', `{${rpc},state="watching"}`)).toBe(1);
    // Long enough for a doubling backoff to have grown past the bound below.
    await new Promise((r) => setTimeout(r, 8_000));
    const back = await startStubDestination(pki, { port: config.svcAddr.port });
    cleanups.unshift(() => back.close());
    back.services.set(SVC, [add('10.0.0.2')]);
    const t0 = Date.now();
    await expect.poll(() => addrs(lease.value.all()), { timeout: 10_000, interval: 50 }).toEqual(['10.0.0.2:8080']);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(back.requests.filter((r) => r.path === SVC)).toHaveLength(1);
  }, 30_000);
});
