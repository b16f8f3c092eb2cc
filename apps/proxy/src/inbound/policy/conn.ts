// Inbound policy on the accept path (docs/reference/linkerd-proxy.md §2 "Inbound decision"): the port's policy is found before
// TLS detection (an opaque port skips it: tls="no_identity",no_tls_reason="port_skipped"), or, for connections
// made straight to the inbound port, once the transport header has named the port. The policy then chooses
// the protocol (tls and opaque: TCP; http1 and http2/grpc: that protocol; detect: detection with the Server's
// timeout) and authorizes connections forwarded as TCP. HTTP connections are authorized per request
// (inbound/policy/http.ts), so a policy update applies to the next request; an open TCP connection that a new policy
// no longer admits is closed, as Linkerd closes it.
import type { Socket } from 'node:net';
import type { AcceptDeps, Accepted, ConnHandler, ConnLayer, ConnPolicy, Destination } from '../../tcp/accept.ts';
import type { TargetEntry } from '../../tcp/targets.ts';
import { authorize, ipBytes, isAudit, type Authorization, type Client } from './authz.ts';
import type { InboundAuthzMetrics } from './metrics.ts';
import type { InboundPolicies, InboundPolicyLog, PortLease, PortPolicy } from './policies.ts';
import { servesIp, type CompiledServer } from './server.ts';

export const kInboundConn = Symbol('trellis.inboundConn');

/** What per-request authorization needs about a connection, kept on the socket the HTTP servers are given. */
export interface InboundConn {
  readonly policy: PortPolicy;
  readonly client: Client;
  readonly clientAddr: string;
}

export interface WithInboundConn {
  [kInboundConn]?: InboundConn;
}

export interface InboundPolicyDeps extends AcceptDeps {
  readonly policies: InboundPolicies;
  readonly authz: InboundAuthzMetrics;
  readonly log: InboundPolicyLog;
  /** Meshed mode: TLS is detected, so an opaque port's connections are labelled port_skipped. */
  readonly meshed: boolean;
}

interface Held {
  lease: PortLease;
  clientIp: Uint8Array | undefined;
  clientAddr: string;
}

const held = new WeakMap<Accepted, Held>();

function lease(d: InboundPolicyDeps, conn: Accepted, port: number): Held {
  const l = d.policies.lease(port);
  const h: Held = { lease: l, clientIp: ipBytes(conn.socket.remoteAddress ?? ''), clientAddr: conn.socket.remoteAddress ?? '' };
  held.set(conn, h);
  conn.socket.once('close', () => l.release());
  return h;
}

/** Calls `go` once the port's first policy is in (or waiting for it is over), unless the client left meanwhile. */
function whenReady(p: PortPolicy, socket: Socket, go: () => void): void {
  if (p.settled) return go();
  p.ready.then(
    () => {
      if (!socket.destroyed) go();
    },
    () => undefined,
  );
}

/** Admits a TCP connection under a server: its TCP authorizations; HTTP-only servers admit none. */
function authorizeTcp(s: CompiledServer, c: Client): Authorization | undefined {
  if (s.protocol !== 'detect' && s.protocol !== 'opaque' && s.protocol !== 'tls') return undefined;
  return authorize(s.tcpAuthzs, c);
}

/**
 * Before TLS detection: leases the port's policy and waits for it; connections to an opaque port skip TLS
 * detection (`skipTls`). Connections to the inbound port itself are left for `enforce` (after the header).
 */
export function lookupPolicy(d: InboundPolicyDeps, skipTls: ConnHandler, direct: { readonly port: number }): ConnLayer {
  return (next) => (conn) => {
    const dst = conn.dst as Destination;
    if (dst.port === direct.port) return next(conn);
    const h = lease(d, conn, dst.port);
    const socket = conn.socket;
    whenReady(h.lease.policy, socket, () => {
      if (h.lease.policy.current.protocol !== 'opaque') return next(conn);
      if (d.meshed) conn.tls = { kind: 'plaintext', reason: 'port_skipped' };
      conn.opaque = true;
      skipTls(conn);
    });
  };
}

/** After TLS: the protocol the policy chooses, TCP authorization, and the per-connection state for HTTP. */
export function enforcePolicy(d: InboundPolicyDeps): ConnLayer {
  return (next) => (conn) => {
    const dst = conn.dst as Destination;
    const h = held.get(conn) ?? lease(d, conn, dst.port);
    const go = () => {
      const policy = h.lease.policy;
      const server = policy.current;
      const client: Client = { ip: h.clientIp, tls: conn.tls ?? { kind: 'plaintext', reason: 'no_tls_from_remote' } };
      if (!servesIp(server, ipBytes(dst.ip))) {
        d.metrics.error(d.direction, 'tcp', 'unauthorized', 'TRELLIS_ERR_UNAUTHORIZED');
        d.log.info({ port: dst.port, ip: dst.ip, srv: server.meta.name }, 'Connection denied: the server does not serve this address');
        conn.socket.destroy();
        return;
      }
      (conn.socket as WithInboundConn)[kInboundConn] = { policy, client, clientAddr: h.clientAddr };
      // tls: TCP after TLS detection; opaque here only on the direct port (elsewhere TLS detection was skipped).
      if (server.protocol === 'tls' || server.protocol === 'opaque') conn.opaque = true;
      const cp: ConnPolicy = {
        srv: server.meta,
        detectTimeoutMs: server.protocol === 'detect' ? server.detectTimeoutMs : undefined,
        // A meshed peer's requests are detected on ports declared HTTP: HTTP/1 may arrive upgraded to HTTP/2 (Linkerd
        // does that), and a Trellis peer with TRELLIS_PROXY_MESH_HTTP1 sends HTTP/1 to HTTP/2 and gRPC ports too.
        http: conn.tls?.kind === 'meshed' ? undefined : server.protocol === 'http2' || server.protocol === 'grpc' ? 'http2' : server.protocol === 'http1' ? 'http1' : undefined,
        timeoutAs: server.protocol === 'http1' ? 'http1' : server.protocol === 'http2' || server.protocol === 'grpc' ? 'http2' : undefined,
        admitOpaque: (entry, socket) => admit(d, entry, socket, policy, server, client, h.clientAddr),
      };
      conn.policy = cp;
      next(conn);
    };
    whenReady(h.lease.policy, conn.socket, go);
  };
}

function admit(d: InboundPolicyDeps, entry: TargetEntry, socket: Socket, policy: PortPolicy, server: CompiledServer, client: Client, clientAddr: string): boolean {
  const authz = authorizeTcp(server, client);
  if (!authz) {
    d.authz.tcpDeny(entry, server).inc();
    d.metrics.error(d.direction, 'tcp', 'unauthorized', 'TRELLIS_ERR_UNAUTHORIZED');
    d.log.info({ srv: server.meta, client: clientAddr, tls: client.tls }, 'Connection denied');
    socket.destroy();
    return false;
  }
  d.authz.tcpAllow(entry, server, authz).inc();
  if (isAudit(authz.meta)) d.log.info({ srv: server.meta, client: clientAddr, tls: client.tls, authz: authz.meta }, 'Connection allowed');
  const recheck = (next: CompiledServer) => {
    if (socket.destroyed || authorizeTcp(next, client)) return;
    d.authz.tcpTerminate(entry, server).inc();
    d.log.info({ srv: next.meta, client: clientAddr, tls: client.tls }, 'Connection terminated due to policy change');
    socket.destroy(new Error('connection no longer authorized by the inbound policy'));
  };
  policy.on('change', recheck);
  socket.once('close', () => policy.off('change', recheck));
  return true;
}
