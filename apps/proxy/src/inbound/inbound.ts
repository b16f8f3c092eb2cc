// The inbound side (0.0.0.0:4143): connections redirected to this pod. The target is podIP:origPort; the proxy
// refuses targets that are its own ports (loops) and IPs that are not the pod's (open relay).
import type { Socket } from 'node:net';
import type { ProxyConfig } from '../config.ts';
import { buildDirection, type SharedParts } from '../stack.ts';
import { composeConn, originalDst, refuse, RefusedConnection, route, type ConnHandler, type Destination } from '../tcp/accept.ts';

/** `own` holds the proxy's listening ports (filled in once they are bound). */
export function inboundCheck(cfg: ProxyConfig, own: ReadonlySet<number>): (dst: Destination) => RefusedConnection | undefined {
  const ips = cfg.inboundIps ? new Set(cfg.inboundIps.map((ip) => ip.toLowerCase())) : undefined;
  return (dst) => {
    if (own.has(dst.port)) return new RefusedConnection('TRELLIS_ERR_FORBIDDEN_TARGET', `inbound connection must not target port ${dst.port}`);
    if (ips && !ips.has(dst.ip.toLowerCase())) return new RefusedConnection('TRELLIS_ERR_FORBIDDEN_TARGET', `inbound connections are not allowed on this IP address (${dst.ip})`);
    return undefined;
  };
}

/** The handler for connections accepted on the inbound listener. */
export function createInbound(cfg: ProxyConfig, shared: SharedParts, resolve: (s: Socket) => Destination, own: ReadonlySet<number>): ConnHandler {
  const stack = buildDirection('inbound', cfg.inbound, cfg, shared);
  const deps = { direction: 'inbound' as const, metrics: shared.metrics, onRefused: shared.onRefused };
  return composeConn(originalDst(resolve, deps), refuse(inboundCheck(cfg, own), deps))(route(stack.routeDeps));
}
