// The inbound side (0.0.0.0:4143): connections redirected to this pod. The target is podIP:origPort; the proxy
// refuses targets that are its own ports (loops) and IPs that are not the pod's (open relay). Meshed mode reads
// the ClientHello first (tls/inbound.ts): our identity's SNI is terminated (the verified client id rides with
// the connection), other TLS passes through as opaque TCP, anything else goes on in plaintext. Connections made
// straight to the inbound port (the direct stack) must be mTLS with the transport header, which names the real port.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { NotRedirectedError } from '@trellis/net';
import type { ProxyConfig } from '../config.ts';
import type { Mesh } from '../identity/mesh.ts';
import { enforcePolicy, lookupPolicy, type InboundPolicyDeps } from './policy/conn.ts';
import { authorizeRequests } from './policy/http.ts';
import type { InboundProfiles } from './profile-routes.ts';
import type { InboundAuthzMetrics } from './policy/metrics.ts';
import type { InboundPolicies, InboundPolicyLog } from './policy/policies.ts';
import { buildDirection, type SharedParts } from '../stack.ts';
import { composeConn, originalDst, refuse, RefusedConnection, route, type AcceptDeps, type Accepted, type ConnHandler, type ConnLayer, type Destination } from '../tcp/accept.ts';
import { TransportHeaderError } from '../tls/errors.ts';
import { acceptInboundTls } from '../tls/inbound.ts';
import { DIRECT_NO_IDENTITY, readDirectHeader, TRANSPORT_HEADER_ALPN } from '../tls/transport.ts';

/**
 * The inbound original destination. A peer's direct connection to podIP:4143 (opaque transport) is redirected by
 * proxy-init's PREROUTING rule to 4143 all the same, so SO_ORIGINAL_DST names the socket's own address; a
 * connection that no rule touched has no NAT record at all. Both reached the inbound port itself: the socket's
 * own address is then the destination, and the direct stack (transport header) takes the connection.
 */
export function inboundDestination(resolve: (s: Socket) => Destination): (s: Socket) => Destination {
  return (s) => {
    try {
      return resolve(s);
    } catch (err) {
      if (err instanceof NotRedirectedError && err.local) return { ip: err.local.address, port: err.local.port };
      throw err;
    }
  };
}

/** `own` holds the proxy's bound listening ports; `direct` (the bound inbound port) is allowed (meshed mode). */
export function inboundCheck(cfg: ProxyConfig, own: ReadonlySet<number>, direct?: { readonly port: number }): (dst: Destination) => RefusedConnection | undefined {
  const ips = cfg.inboundIps ? new Set(cfg.inboundIps.map((ip) => ip.toLowerCase())) : undefined;
  return (dst) => {
    if (own.has(dst.port) && dst.port !== direct?.port) return new RefusedConnection('TRELLIS_ERR_FORBIDDEN_TARGET', `inbound connection must not target port ${dst.port}`);
    // kubectl port-forward reaches the pod on loopback: the inbound port itself is served there (trellis identity
    // reads the proxy's certificate that way); the direct stack still wants mTLS and a transport header after it.
    const forwarded = direct !== undefined && dst.port === direct.port && isLoopbackIp(dst.ip);
    if (ips && !forwarded && !ips.has(dst.ip.toLowerCase())) return new RefusedConnection('TRELLIS_ERR_FORBIDDEN_TARGET', `inbound connections are not allowed on this IP address (${dst.ip})`);
    return undefined;
  };
}

function isLoopbackIp(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('::ffff:127.');
}

function noop(): void {
  // errors are handled where the stream is used; this listener only keeps them from being unhandled
}

/** The inbound TLS step, before protocol detection; `direct.port` is the bound inbound port. */
export function inboundTls(mesh: Mesh, detectTimeoutMs: number, deps: AcceptDeps, direct: { readonly port: number }, check: (dst: Destination) => RefusedConnection | undefined): ConnLayer {
  const failed = (err: Error) => {
    deps.metrics.error(deps.direction, 'tcp', 'unexpected', (err as { code?: string }).code ?? 'TRELLIS_ERR_TLS');
    deps.onRefused(deps.direction, err);
  };
  return (next) => (conn: Accepted) => {
    const dst = conn.dst as Destination;
    const isDirect = dst.port === direct.port;
    acceptInboundTls(
      conn.socket,
      mesh.tls,
      detectTimeoutMs,
      {
        meshed: (socket: TLSSocket, clientId: string) => {
          socket.on('error', noop);
          conn.socket = socket;
          conn.tls = { kind: 'meshed', clientId };
          if (!isDirect) return next(conn);
          readDirectHeader({ socket, clientId, alpn: socket.alpnProtocol ?? false }, detectTimeoutMs).then(
            (header) => {
              const real = { ip: dst.ip, port: header.port };
              const err = check(real);
              if (err || real.port === direct.port) {
                failed(err ?? new RefusedConnection('TRELLIS_ERR_FORBIDDEN_TARGET', `inbound connection must not target port ${real.port}`));
                socket.destroy();
                return;
              }
              conn.dst = real;
              // The header is this proxy's, not the peer's bytes for the app (Linkerd counts from after it).
              conn.consumed = socket.bytesRead - socket.readableLength;
              // Without a session protocol the peer sends opaque bytes: no detection.
              if (!header.sessionProtocol) conn.opaque = true;
              next(conn);
            },
            (err: Error) => {
              failed(err);
              socket.destroy();
            },
          );
        },
        passthrough: (_socket, sni) => {
          if (isDirect) {
            failed(new TransportHeaderError('TRELLIS_ERR_DIRECT_NO_IDENTITY', DIRECT_NO_IDENTITY));
            conn.socket.destroy();
            return;
          }
          conn.tls = { kind: 'passthrough', sni };
          conn.opaque = true;
          next(conn);
        },
        plaintext: () => {
          if (isDirect) {
            failed(new TransportHeaderError('TRELLIS_ERR_DIRECT_NO_IDENTITY', DIRECT_NO_IDENTITY));
            conn.socket.destroy();
            return;
          }
          conn.tls = { kind: 'plaintext', reason: 'no_tls_from_remote' };
          next(conn);
        },
        failed,
      },
      isDirect ? [TRANSPORT_HEADER_ALPN] : undefined,
    );
  };
}

/** Inbound policy: each port's policy, its metrics, and where denials are logged. */
export interface InboundPolicyParts {
  readonly policies: InboundPolicies;
  readonly authz: InboundAuthzMetrics;
  readonly log: InboundPolicyLog;
  /** ServiceProfile route metrics of admitted requests (meshed mode). */
  readonly profiles?: InboundProfiles | undefined;
}

/**
 * The handler for connections accepted on the inbound listener: the port's policy is looked up before TLS
 * detection (opaque ports skip it) and enforced after it. `mesh`: meshed mode (TLS step, direct port);
 * `direct.port` is the bound inbound port.
 */
export function createInbound(
  cfg: ProxyConfig,
  shared: SharedParts,
  resolve: (s: Socket) => Destination,
  own: ReadonlySet<number>,
  policy: InboundPolicyParts,
  mesh?: Mesh,
  direct: { readonly port: number } = { port: -1 },
): ConnHandler {
  const stack = buildDirection('inbound', cfg.inbound, cfg, shared, [authorizeRequests(policy), ...(policy.profiles ? [policy.profiles.layer()] : [])]);
  const deps = { direction: 'inbound' as const, metrics: shared.metrics, onRefused: shared.onRefused };
  const pd: InboundPolicyDeps = { ...deps, ...policy, meshed: mesh !== undefined };
  const afterTls = enforcePolicy(pd)(route(stack.routeDeps));
  const dst = originalDst(inboundDestination(resolve), deps);
  if (!mesh) return composeConn(dst, refuse(inboundCheck(cfg, own), deps), lookupPolicy(pd, afterTls, direct))(afterTls);
  const check = inboundCheck(cfg, own, direct);
  return composeConn(dst, refuse(check, deps), lookupPolicy(pd, afterTls, direct), inboundTls(mesh, cfg.inbound.detectTimeoutMs, deps, direct, check))(afterTls);
}
