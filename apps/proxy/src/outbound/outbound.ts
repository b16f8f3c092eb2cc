// The outbound side (127.0.0.1:4140): everything the app sends out. Plaintext mode forwards every connection to
// its original destination. Meshed mode first asks discovery about the original destination (docs/reference/linkerd-proxy.md
// §0, §5): a service or known pod gets its requests balanced over its endpoints with mTLS (mesh-upstream.ts, its HTTP requests by the route stage: http-route.ts);
// anything discovery does not know goes to its original destination, as in plaintext mode.
import type { Socket } from 'node:net';
import { portIn, type ProxyConfig } from '../config.ts';
import type { Mesh } from '../identity/mesh.ts';
import type { RouteMetricFamilies } from '../profiles/metrics.ts';
import type { PolicyLog } from './policy/target.ts';
import { buildDirection, type SharedParts } from '../stack.ts';
import { composeConn, originalDst, route, type AcceptDeps, type ConnHandler, type ConnLayer, type ConnPolicy, type Destination } from '../tcp/accept.ts';
import { splice } from '../tcp/forward.ts';
import { resolveOutbound, whenPolicyArrives } from './policy/resolve.ts';
import { IngressRouter } from './ingress.ts';
import { EndpointClient } from './endpoint-client.ts';
import type { MeshH1Options } from './mesh-h1.ts';
import { MeshUpstream } from './mesh-upstream.ts';

/**
 * Resolves each original destination once (the resolution, its balancers and pooled connections are shared by
 * every connection to it); 'forward' answers are not kept, so a service that appears later is found. A target
 * without connections for LINKERD2_PROXY_OUTBOUND_DISCOVERY_IDLE_TIMEOUT is released.
 */
export function meshOutbound(mesh: Mesh, cfg: ProxyConfig, deps: AcceptDeps, routeMetrics?: RouteMetricFamilies, log: PolicyLog = quiet): ConnLayer {
  interface Slot {
    readonly upstream: Promise<MeshUpstream | undefined>;
    /** Open client connections using this target, and since when it has had none. */
    conns: number;
    idleSince: number;
    /** Stops waiting for a policy that had not arrived when the target was resolved. */
    unwatch: () => void;
  }
  const cache = new Map<string, Slot>();
  const local = new Set(cfg.inboundIps ?? []);
  const isLocal = (ip: string) => local.has(ip);
  // Targets no connection has used for the idle timeout are released (their pooled connections and watches).
  const idleMs = Math.max(mesh.outboundIdleMs, 1);
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, slot] of cache) {
        if (slot.conns > 0 || now - slot.idleSince < idleMs) continue;
        cache.delete(key);
        slot.unwatch();
        void slot.upstream.then((u) => u?.release());
      }
    },
    Math.min(Math.max(idleMs / 2, 50), 5_000),
  );
  sweep.unref();
  const slotFor = (dst: Destination): Slot => {
    const key = `${dst.ip}|${dst.port}`;
    let slot = cache.get(key);
    if (!slot) {
      const upstream = resolveOutbound(mesh, dst.ip, dst.port, { log, endpoints: routeMetrics?.policy.endpoints }).then((r) =>
        r.kind === 'forward' ? undefined : new MeshUpstream(r, new EndpointClient(mesh.tls, isLocal, mesh.endpointMetrics, cfg.outbound.connectTimeoutMs, meshHttp1Of(cfg)), routeMetrics),
      );
      const s: Slot = { upstream, conns: 0, idleSince: Date.now(), unwatch: noop };
      cache.set(key, s);
      const forget = () => {
        if (cache.get(key) === s) cache.delete(key);
      };
      upstream.then((u) => {
        if (!u) forget();
        // Resolved without a policy (none in time): adopted when it arrives, for new requests on open connections too.
        else if (!u.hasPolicy) s.unwatch = whenPolicyArrives(mesh, dst.ip, dst.port, { log, endpoints: routeMetrics?.policy.endpoints }, (t) => u.adoptPolicy(t));
      }, forget);
      slot = s;
    }
    return slot;
  };
  return (next) => (conn) => {
    const dst = conn.dst as Destination;
    const slot = slotFor(dst);
    slot.conns++;
    conn.socket.once('close', () => {
      slot.conns--;
      slot.idleSince = Date.now();
    });
    slot.upstream.then(
      (u) => {
        if (conn.socket.destroyed) return;
        if (!u) return next(conn);
        if (u.opaque || portIn(cfg.outbound.opaquePorts, dst.port)) {
          // A policy target's opaque traffic takes its opaque route; without one it has nowhere to be balanced
          // to and goes to the original destination.
          if (!u.policy) return opaqueThrough(u, conn.socket, deps);
          if (u.policy.opaqueRoute) return opaqueThrough(u, conn.socket, deps, true);
          return next(conn);
        }
        conn.router = u;
        const policy = u.policy ? connPolicy(u, deps) : undefined;
        if (policy) conn.policy = policy;
        next(conn);
      },
      (err: Error) => {
        deps.onRefused(deps.direction, err);
        next(conn);
      },
    );
  };
}

/**
 * What a policy target's protocol says to the accept path (docs/reference/linkerd-proxy.md §2 "Outbound decision"): HTTP/1,
 * HTTP/2 and gRPC are known (no sniffing); Detect sniffs for its timeout, and what is not HTTP takes the policy's
 * opaque route (balanced, or refused when Forbidden/Invalid), else goes to the original destination.
 */
function connPolicy(u: MeshUpstream, deps: AcceptDeps): ConnPolicy | undefined {
  const p = u.policy;
  if (!p) return undefined;
  const proto = p.policy.protocol;
  return {
    http: proto === 'http1' ? 'http1' : proto === 'http2' || proto === 'grpc' ? 'http2' : undefined,
    detectTimeoutMs: p.policy.detectTimeoutMs,
    timeoutAs: undefined,
    admitOpaque: (_entry, socket) => {
      if (!p.opaqueRoute) return true;
      opaqueThrough(u, socket, deps, true);
      return false;
    },
  };
}

/** Opaque TCP to a balanced endpoint (mTLS with the transport header when the endpoint is meshed). */
function opaqueThrough(u: MeshUpstream, socket: Socket, deps: AcceptDeps, opaqueRoute?: boolean): void {
  u.pick(undefined, opaqueRoute).then(
    async (p) => {
      try {
        const up = (await u.client.opaqueStream(p.me)) as Socket;
        p.firstByte();
        up.once('close', () => p.done(true));
        splice(socket, up);
        socket.resume();
      } catch (err) {
        p.done(false);
        throw err;
      }
    },
    (err: Error) => {
      throw err;
    },
  ).catch((err: Error) => {
    deps.metrics.error(deps.direction, 'tcp', 'i/o', (err as { code?: string }).code ?? 'TRELLIS_ERR_CONNECT');
    deps.onRefused(deps.direction, err);
    socket.resetAndDestroy();
  });
}

const quiet: PolicyLog = { warn: () => undefined, debug: () => undefined };

/** The handler for connections accepted on the outbound listeners; `mesh`: meshed mode. */
export function createOutbound(cfg: ProxyConfig, shared: SharedParts, resolve: (s: Socket) => Destination, mesh?: Mesh, routeMetrics?: RouteMetricFamilies, log?: PolicyLog): ConnHandler {
  const stack = buildDirection('outbound', cfg.outbound, cfg, shared);
  const deps = { direction: 'outbound' as const, metrics: shared.metrics, onRefused: shared.onRefused };
  if (!mesh) return composeConn(originalDst(resolve, deps))(route(stack.routeDeps));
  if (cfg.ingressMode) return composeConn(originalDst(resolve, deps), ingressRouting(mesh, cfg, routeMetrics))(route(stack.routeDeps));
  return composeConn(originalDst(resolve, deps), meshOutbound(mesh, cfg, deps, routeMetrics, log))(route(stack.routeDeps));
}

/** Ingress mode: HTTP requests are routed by name, each by itself; other traffic goes to its original destination. */
function ingressRouting(mesh: Mesh, cfg: ProxyConfig, routeMetrics: RouteMetricFamilies | undefined): ConnLayer {
  const local = new Set(cfg.inboundIps ?? []);
  const router = new IngressRouter(mesh, (ip) => local.has(ip), cfg.outbound.connectTimeoutMs, routeMetrics, meshHttp1Of(cfg));
  return (next) => (conn) => {
    conn.router = router;
    next(conn);
  };
}

function noop(): void {
  // nothing to stop
}

/** The pool settings of HTTP/1 between proxies (the outbound HTTP/1 pool's), when TRELLIS_PROXY_MESH_HTTP1 is on. */
function meshHttp1Of(cfg: ProxyConfig): MeshH1Options | undefined {
  return cfg.meshHttp1 ? { idleTimeoutMs: cfg.outbound.http1PoolIdleTimeoutMs, maxIdle: cfg.outbound.maxIdleConnsPerEndpoint } : undefined;
}
