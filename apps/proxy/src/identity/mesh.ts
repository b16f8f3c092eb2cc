// Meshed mode's parts built from its configuration, for startProxy to use when not in plaintext mode: the identity
// agent (Certify over TLS), the TLS layer on its certificates, discovery (Destination over mTLS) and the
// outbound resolver. Readiness follows Linkerd (docs/reference/linkerd-proxy.md §3 "Readiness gating", §9): listeners are
// bound at start, but connections are parked (clients wait, not refused) until the first certificate.
//
// Where each part plugs into the data path (proxy.ts, tcp/accept.ts, http/*):
// - startProxy: `mesh = await startMesh(cfg.mesh, { logger, registry, localIps: cfg.inboundIps })`; wrap both accept
//   handlers in `mesh.gate(...)`; admin `isReady: mesh.isReady`; `close()` calls `mesh.close()`.
// - inbound accept, after originalDst and before HTTP detection: `acceptInboundTls(socket, mesh.tls, detectTimeout,
//   ...)` (tls/inbound.ts); meshed sockets continue into detection with their clientId (l5d-client-id via
//   tls/client-id.ts, `tls="true",client_id` via tls/labels.ts); l5d-orig-proto requests are downgraded with
//   tls/orig-proto.ts; the direct port reads tls/transport.ts readDirectHeader.
// - outbound, per original destination: `mesh.outbound.resolve(ip, port)`; 'forward' goes to the original destination,
//   'logical' gives `target.profile` (routeFor, sendWithRetries, withRouteTimeout, RouteMetricFamilies) and
//   `pickBackend(target.split).balancer.acquire()` → an endpoint whose `h2` session carries upgraded requests;
//   endpoints without the h2 hint use an http.Agent whose createConnection is `mesh.tls.socket(peer)`, opaque
//   ones `openOpaque`.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MeshConfig } from '../config.ts';
import { Discovery } from '../discovery/discovery.ts';
import { destinationClients } from '../discovery/grpc-destination.ts';
import { OutboundResolver } from '../discovery/outbound.ts';
import type { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { OutboundEndpointMetrics } from '../outbound/endpoint-metrics.ts';
import { PolicyDiscovery } from '../policy/policy-discovery.ts';
import { InboundServerPoliciesClient, OutboundPoliciesClient } from '@trellis/proto';
import { controlClients } from './control-clients.ts';
import { controlMetrics } from './control-metrics.ts';
import { MeshTls } from '../tls/mesh-tls.ts';
import { IdentityAgent } from './agent.ts';
import { grpcCertify } from './grpc-certify.ts';
import { identityMetrics } from './metrics.ts';
import type { IdentitySource } from './mirror.ts';

export interface Mesh {
  /** The identity agent, or in a worker thread the certificates the main thread's agent posts. */
  readonly agent: IdentitySource;
  readonly tls: MeshTls;
  readonly discovery: Discovery;
  readonly outbound: OutboundResolver;
  /** Policy discovery (OutboundPolicies, InboundServerPolicies); undefined without LINKERD2_PROXY_POLICY_SVC_ADDR. */
  readonly policy: PolicyDiscovery | undefined;
  /** The outbound endpoint series (tls="true",server_id, dst_*), when the proxy's metrics were given. */
  readonly endpointMetrics: OutboundEndpointMetrics | undefined;
  /** How long an outbound target nothing uses is kept (LINKERD2_PROXY_OUTBOUND_DISCOVERY_IDLE_TIMEOUT). */
  readonly outboundIdleMs: number;
  /** For /ready: true from the first certificate on, never false again. */
  isReady(): boolean;
  /** Wraps an accept handler so connections wait (paused) until the first certificate. */
  gate<C extends { readonly socket: Socket }>(accept: (conn: C) => void): (conn: C) => void;
  close(): void;
}

export interface MeshDeps {
  readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** identity_cert_* and control_identity_cert_* are registered here (the admin server renders it). */
  readonly registry: Registry;
  /** The pod's IPs: endpoints on them get no TLS and no upgrade. */
  readonly localIps?: readonly string[];
  /** The proxy's metrics: outbound requests and connections are counted per endpoint reached. */
  readonly metrics?: ProxyMetrics;
  /** A worker thread's identity, mirrored from the main thread's agent: no key, CSR or Certify of its own. */
  readonly identity?: IdentitySource;
}

/** Starts identity (the first Certify) and builds discovery and policy discovery on it. */
export async function startMesh(config: MeshConfig, deps: MeshDeps): Promise<Mesh> {
  const { identity: idc, discovery: dc, policy: pc } = config;
  const control = controlMetrics(deps.registry);
  const supervision = { log: deps.logger };
  const rpc = deps.identity ? undefined : grpcCertify(idc, control, supervision);
  const own = rpc ? new IdentityAgent({ config: idc, certify: rpc.certify, log: deps.logger, metrics: identityMetrics(deps.registry) }) : undefined;
  const agent: IdentitySource = own ?? (deps.identity as IdentitySource);
  const tls = new MeshTls(agent);
  const clients = destinationClients(dc, idc.trustAnchorsPem, agent, control, supervision);
  const log = deps.logger;
  const discovery = new Discovery(dc, clients.get, { debug: (o, m) => log.debug(o, m), info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m) }, { metrics: control, ready: clients.ready });
  let policy: PolicyDiscovery | undefined;
  const policyClose: (() => void)[] = [];
  if (pc.svcAddr) {
    const svc = { svcAddr: pc.svcAddr, svcName: pc.svcName, fallbackAddr: pc.fallbackAddr };
    const out = controlClients(OutboundPoliciesClient, svc, idc.trustAnchorsPem, agent, control, supervision);
    const inb = controlClients(InboundServerPoliciesClient, svc, idc.trustAnchorsPem, agent, control, supervision);
    policyClose.push(() => out.close(), () => inb.close());
    const timeouts = { initialMs: dc.streamInitialTimeoutMs, idleMs: dc.streamIdleTimeoutMs, lifetimeMs: dc.streamLifetimeMs };
    policy = new PolicyDiscovery(pc, { outbound: out, inbound: inb }, { timeouts, idleTimeoutMs: dc.idleTimeoutMs, inboundIdleTimeoutMs: pc.inboundIdleTimeoutMs, log, metrics: control });
  } else {
    log.warn({}, 'LINKERD2_PROXY_POLICY_SVC_ADDR is not set: no policy discovery; inbound uses the default policy, outbound ServiceProfiles only');
  }
  const local = new Set(deps.localIps ?? []);
  const isLocal = (ip: string) => local.has(ip);
  const endpointMetrics = deps.metrics ? new OutboundEndpointMetrics(deps.metrics, isLocal) : undefined;
  const outbound = new OutboundResolver(discovery, { tls, isLocal, ...(endpointMetrics ? { track: (e, s) => endpointMetrics.track(e, s) } : {}) });
  let ready = false;
  const parked: (() => void)[] = [];
  void agent.ready.then(() => {
    ready = true;
    for (const run of parked.splice(0)) run();
  });
  await own?.start();
  return {
    agent,
    tls,
    discovery,
    outbound,
    policy,
    endpointMetrics,
    outboundIdleMs: dc.idleTimeoutMs,
    isReady: () => ready,
    gate: (accept) => (conn) => {
      if (ready) return accept(conn);
      // Like an accept loop that has not started: the kernel finished the handshake, nothing is read yet.
      conn.socket.pause();
      parked.push(() => {
        if (!conn.socket.destroyed) accept(conn);
      });
    },
    close: () => {
      agent.stop();
      discovery.close();
      clients.close();
      policy?.close();
      for (const c of policyClose) c();
      rpc?.close();
    },
  };
}
