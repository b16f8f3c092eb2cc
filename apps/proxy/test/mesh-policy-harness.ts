// Helpers for the policy routing tests: a meshed proxy whose policy controller is the stub (mesh-stub-policy.ts),
// app servers that count what they saw, and spec-shaped policies (Service parent, HTTPRoute, balancer backends).
import { createServer, request, type Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { destination, durationFromMillis, outbound, tcpAddress } from '@trellis/proto';
import { expect } from 'vitest';
import { listenOn } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy, type MeshedProxy } from './mesh-harness.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { startStubDestination, type StubDestination } from './mesh-stub-destination.ts';
import { startStubPolicy, type StubPolicy } from './mesh-stub-policy.ts';

export const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
export const TARGET = '10.96.0.10:80';
/** Run (in reverse) after each test by the spec files. */
export const cleanups: (() => unknown)[] = [];

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  /** Whether the request went on a connection the agent had used before. */
  reused: boolean;
}

export function send(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', agent?: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: 'books.default.svc.cluster.local', ...headers }, ...(agent ? { agent } : {}) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end();
  });
}

export type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** An app server that answers `name` (or what `handler` says) and counts what it saw. */
export async function app(name: string, handler?: Handler): Promise<{ port: number; name: string; seen: IncomingMessage[]; server: Server }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.setHeader('x-app', name);
    if (handler) return handler(req, res, seen.length);
    res.end(`${name} ${req.url}`);
  });
  const port = await listenOn(server);
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port, name, seen, server };
}

export const service = (name: string) => ({ kind: { $case: 'resource' as const, value: { group: 'core', kind: 'Service', name, namespace: 'default', section: '', port: 80 } } });
export const route = (name: string) => ({ kind: { $case: 'resource' as const, value: { group: 'policy.linkerd.io', kind: 'HTTPRoute', name, namespace: 'default', section: '', port: 0 } } });
export const authority = (name: string) => `${name}.default.svc.cluster.local:80`;

export function backend(name: string, failfastMs = 3_000): outbound.Backend {
  return outbound.Backend.fromPartial({
    metadata: service(name),
    queue: { capacity: 100, failfastTimeout: durationFromMillis(failfastMs) },
    kind: { $case: 'balancer' as const, value: { discovery: { kind: { $case: 'dst' as const, value: { path: authority(name) } } }, load: { $case: 'peakEwma' as const, value: { defaultRtt: durationFromMillis(30), decay: durationFromMillis(10_000) } } } },
  });
}

export type Rule = NonNullable<Parameters<typeof outbound.HttpRoute.fromPartial>[0]['rules']>[number];

export const toOne = (name: string): outbound.HttpRoute_Distribution => outbound.HttpRoute_Distribution.fromPartial({ kind: { $case: 'firstAvailable', value: { backends: [{ backend: backend(name) }] } } });

export function httpPolicy(rules: Rule[], failureAccrual?: Parameters<typeof outbound.FailureAccrual.fromPartial>[0]): outbound.OutboundPolicy {
  const routes = [{ metadata: route('books-route'), rules }];
  const part = { routes, ...(failureAccrual ? { failureAccrual } : {}) };
  return outbound.OutboundPolicy.fromPartial({
    metadata: service('books'),
    protocol: { kind: { $case: 'detect', value: { timeout: durationFromMillis(10_000), http1: part, http2: part, opaque: { routes: [] } } } },
  });
}

/** Destination/Get answers for a service: plain endpoints (no identity, no hint) at these ports. */
export function endpoints(dst: StubDestination, name: string, ...ports: number[]): void {
  dst.services.set(authority(name), [
    destination.Update.fromPartial({
      update: { $case: 'add', value: { metricLabels: { namespace: 'default', service: name }, addrs: ports.map((p) => ({ addr: tcpAddress('127.0.0.1', p), weight: 10000 })) } },
    }),
  ]);
}

export async function meshed(): Promise<{ proxy: MeshedProxy; dst: StubDestination; policy: StubPolicy; pki: MeshPki; identity: Awaited<ReturnType<typeof startFakeIdentity>> }> {
  const pki = await createMeshPki();
  const identity = await startFakeIdentity(pki, { tls: false });
  const dst = await startStubDestination(pki, { tls: false });
  const policy = await startStubPolicy();
  cleanups.push(() => identity.close(), () => dst.close(), () => policy.close());
  const proxy = await startMeshedProxy({
    pki,
    identitySvc: identity,
    destination: dst,
    identity: WEB,
    env: { LINKERD2_PROXY_POLICY_SVC_ADDR: policy.addr, LINKERD2_PROXY_POLICY_WORKLOAD: '{"ns":"default","pod":"web-0"}' },
  });
  cleanups.push(() => proxy.proxy.close());
  proxy.outboundTarget = { ip: '10.96.0.10', port: 80 };
  await expect.poll(async () => (await fetch(`${proxy.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);
  return { proxy, dst, policy, pki, identity };
}

