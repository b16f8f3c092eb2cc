// The outbound side (127.0.0.1:4140): everything the app sends out. Plaintext mode (Proxy I) forwards every
// connection to its original destination. Meshed mode first asks discovery about the original destination
// (linkerd-proxy.md §0, §5): a service or known pod gets its requests balanced over its endpoints with mTLS
// (mesh-upstream.ts); anything discovery does not know keeps Proxy I's path.
import type { Socket } from 'node:net';
import { portIn, type ProxyConfig } from '../config.ts';
import type { Mesh } from '../identity/mesh.ts';
import type { RouteMetricFamilies } from '../profiles/metrics.ts';
import { buildDirection, type SharedParts } from '../stack.ts';
import { composeConn, originalDst, route, type AcceptDeps, type ConnHandler, type ConnLayer, type Destination } from '../tcp/accept.ts';
import { splice } from '../tcp/forward.ts';
import type { TargetCache } from '../tcp/targets.ts';
import { MeshUpstream } from './mesh-upstream.ts';

/**
 * Resolves each original destination once (the resolution, its balancers and pooled connections are shared by
 * every connection to it); 'forward' answers are not kept, so a service that appears later is found.
 */
export function meshOutbound(mesh: Mesh, cfg: ProxyConfig, deps: AcceptDeps, targets: TargetCache, routeMetrics?: RouteMetricFamilies): ConnLayer {
  const cache = new Map<string, Promise<MeshUpstream | undefined>>();
  const local = new Set(cfg.inboundIps ?? []);
  const isLocal = (ip: string) => local.has(ip);
  const resolve = (dst: Destination): Promise<MeshUpstream | undefined> => {
    const key = `${dst.ip}|${dst.port}`;
    let p = cache.get(key);
    if (!p) {
      p = mesh.outbound.resolve(dst.ip, dst.port).then((r) => (r.kind === 'forward' ? undefined : new MeshUpstream(r, mesh.tls, isLocal, routeMetrics)));
      cache.set(key, p);
      const forget = () => cache.delete(key);
      p.then((u) => {
        if (!u) forget();
      }, forget);
    }
    return p;
  };
  return (next) => (conn) => {
    const dst = conn.dst as Destination;
    resolve(dst).then(
      (u) => {
        if (conn.socket.destroyed) return;
        if (!u) {
          targets.get('outbound', dst.ip, dst.port, false).mesh = undefined;
          return next(conn);
        }
        if (u.opaque || portIn(cfg.outbound.opaquePorts, dst.port)) return opaqueThrough(u, conn.socket, deps);
        targets.get('outbound', dst.ip, dst.port, false).mesh = u;
        next(conn);
      },
      (err: Error) => {
        deps.onRefused(deps.direction, err);
        next(conn);
      },
    );
  };
}

/** Opaque TCP to a balanced endpoint (mTLS with the transport header when the endpoint is meshed). */
function opaqueThrough(u: MeshUpstream, socket: Socket, deps: AcceptDeps): void {
  u.pick().then(
    async (p) => {
      try {
        const up = (await u.opaqueStream(p.me)) as Socket;
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

/** The handler for connections accepted on the outbound listeners; `mesh`: meshed mode. */
export function createOutbound(cfg: ProxyConfig, shared: SharedParts, resolve: (s: Socket) => Destination, mesh?: Mesh, routeMetrics?: RouteMetricFamilies): ConnHandler {
  const stack = buildDirection('outbound', cfg.outbound, cfg, shared);
  const deps = { direction: 'outbound' as const, metrics: shared.metrics, onRefused: shared.onRefused };
  if (!mesh) return composeConn(originalDst(resolve, deps))(route(stack.routeDeps));
  return composeConn(originalDst(resolve, deps), meshOutbound(mesh, cfg, deps, shared.targets, routeMetrics))(route(stack.routeDeps));
}
