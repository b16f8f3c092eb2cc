// The accept path, as layers over an accepted connection: original destination -> direction checks ->
// target and TCP metrics -> protocol choice (opaque port, remembered server-speaks-first port, or detection)
// -> HTTP/1 server, HTTP/2 server or opaque forward.
import type { Server as HttpServer } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import { portIn } from '../config.ts';
import type { PortRange } from '@trellis/config';
import { attachTarget } from '../http/connection.ts';
import type { ConnRouter } from '../http/exchange.ts';
import type { Direction, ProxyMetrics } from '../metrics/proxy-metrics.ts';
import type { TlsAccept } from '../tls/labels.ts';
import { connectTo } from './connect.ts';
import { detect } from './detect.ts';
import { forwardOpaque } from './forward.ts';
import type { OpaqueMemory } from './opaque-memory.ts';
import type { ServerMeta, TargetCache, TargetEntry } from './targets.ts';

export interface Destination {
  readonly ip: string;
  readonly port: number;
}

export interface Accepted {
  /** The accepted socket, or the terminated TLS stream over it once inbound mTLS has been accepted. */
  socket: Socket;
  dst?: Destination;
  entry?: TargetEntry;
  /** Inbound TLS as accepted (meshed / passed through / plaintext); undefined in plaintext mode. */
  tls?: TlsAccept;
  /** Forward as TCP without detection (passed-through TLS, a transport header without a session protocol). */
  opaque?: boolean;
  /** Bytes the proxy read for itself before the peer's own (the transport header): not counted as read. */
  consumed?: number;
  /** What the port's policy (inbound, inbound/policy/conn.ts) or the target's (outbound, outbound/outbound.ts) says. */
  policy?: ConnPolicy;
  /** Meshed outbound: what routes the connection's HTTP requests (its target, or ingress mode's router). */
  router?: ConnRouter;
}

/** What an inbound port's policy decides for a connection, for route() to follow. */
export interface ConnPolicy {
  /** The Server (srv_* labels); none outbound. */
  readonly srv?: ServerMeta;
  /** Skip detection: the port speaks this HTTP version. */
  readonly http: 'http1' | 'http2' | undefined;
  /** The Server's detection timeout (the proxy's when undefined). */
  readonly detectTimeoutMs: number | undefined;
  /** What a detection timeout means on a port declared HTTP (its version), instead of opaque TCP. */
  readonly timeoutAs: 'http1' | 'http2' | undefined;
  /** Authorizes a connection about to be forwarded as TCP; false: it was refused and closed. */
  admitOpaque(entry: TargetEntry, socket: Socket): boolean;
}

export type ConnHandler = (conn: Accepted) => void;
export type ConnLayer = (next: ConnHandler) => ConnHandler;

/** A connection the proxy refuses before forwarding anything; counted, then closed. */
export class RefusedConnection extends Error {
  readonly code: string;
  constructor(code: `TRELLIS_ERR_${string}`, message: string) {
    super(message);
    this.code = code;
  }
}

export interface AcceptDeps {
  readonly direction: Direction;
  readonly metrics: ProxyMetrics;
  readonly onRefused: (direction: Direction, err: Error) => void;
}

/** Reads the original destination (SO_ORIGINAL_DST through @trellis/net, or a test's resolver). */
export function originalDst(resolve: (s: Socket) => Destination, deps: AcceptDeps): ConnLayer {
  return (next) => (conn) => {
    try {
      conn.dst = resolve(conn.socket);
    } catch (err) {
      deps.metrics.error(deps.direction, 'tcp', 'unexpected', (err as { code?: string }).code ?? 'TRELLIS_ERR_ORIGINAL_DST');
      deps.onRefused(deps.direction, err as Error);
      conn.socket.destroy();
      return;
    }
    next(conn);
  };
}

/** Refuses destinations a check rejects (inbound: the proxy's own ports, IPs that are not the pod's). */
export function refuse(check: (dst: Destination) => RefusedConnection | undefined, deps: AcceptDeps): ConnLayer {
  return (next) => (conn) => {
    const err = check(conn.dst as Destination);
    if (err) {
      deps.metrics.error(deps.direction, 'tcp', 'unexpected', err.code);
      deps.onRefused(deps.direction, err);
      conn.socket.resetAndDestroy();
      return;
    }
    next(conn);
  };
}

export interface RouteDeps extends AcceptDeps {
  readonly targets: TargetCache;
  readonly opaquePorts: readonly PortRange[];
  readonly memory: OpaqueMemory;
  readonly detectTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly h1: HttpServer;
  readonly h2: Http2Server;
  readonly track: (socket: Socket) => void;
}

/** Picks the protocol and hands the connection to its stack. */
export function route(d: RouteDeps): ConnHandler {
  const timeouts = d.metrics.detectTimeouts.child(`direction="${d.direction}"`);
  const opaque = (entry: TargetEntry, socket: Socket) =>
    forwardOpaque(socket, connectTo(entry, d.connectTimeoutMs), (err) => {
      const code = (err as { code?: string }).code;
      d.metrics.error(d.direction, 'tcp', code === 'TRELLIS_ERR_CONNECT_TIMEOUT' ? 'failfast' : 'i/o', code?.startsWith('TRELLIS_ERR_') ? code : 'TRELLIS_ERR_CONNECT');
    });
  const h1 = (socket: Socket) => {
    d.h1.emit('connection', socket);
    socket.resume();
  };
  return (conn) => {
    const { socket } = conn;
    const dst = conn.dst as Destination;
    const pol = conn.policy;
    d.track(socket);
    const tcp = (entry: TargetEntry) => {
      if (!pol || pol.admitOpaque(entry, socket)) opaque(entry, socket);
    };
    // With a port policy, the policy says which ports are opaque; the env's list is the default policy's.
    if (conn.opaque === true || (!pol && portIn(d.opaquePorts, dst.port)) || (pol?.http === undefined && d.memory.has(dst.port))) {
      const entry = d.targets.get(d.direction, dst.ip, dst.port, true, conn.tls, pol?.srv);
      entry.srcTcp.track(socket, conn.consumed);
      tcp(entry);
      return;
    }
    const entry = d.targets.get(d.direction, dst.ip, dst.port, false, conn.tls, pol?.srv);
    entry.srcTcp.track(socket, conn.consumed);
    attachTarget(socket, entry, conn.router);
    if (pol?.http === 'http2') {
      d.h2.emit('connection', socket);
      return;
    }
    if (pol?.http === 'http1') return h1(socket);
    void detect(socket, pol?.detectTimeoutMs ?? d.detectTimeoutMs).then((protocol) => {
      switch (protocol) {
        case 'http1':
          h1(socket);
          return;
        case 'http2':
          d.h2.emit('connection', socket);
          return;
        case 'timeout':
          timeouts.inc();
          if (pol?.timeoutAs === 'http1') return h1(socket);
          if (pol?.timeoutAs === 'http2') return void d.h2.emit('connection', socket);
          d.memory.remember(dst.port);
          tcp(entry);
          return;
        case 'opaque':
          tcp(entry);
          return;
        case 'closed':
          socket.destroy();
          return;
      }
    });
  };
}

export function composeConn(...layers: readonly ConnLayer[]): (terminal: ConnHandler) => ConnHandler {
  return (terminal) => layers.reduceRight<ConnHandler>((h, l) => l(h), terminal);
}
