// The admin port's accept path (docs/reference/linkerd-proxy.md §6 "Transport"): a meshed Prometheus' proxy scrapes
// it over mTLS, and upgrades HTTP/1 to HTTP/2 between proxies as it does for any meshed endpoint; kubelet probes and
// a host's curl come in plaintext HTTP/1. TLS is terminated with the proxy's identity, then the first bytes tell
// HTTP/2 from HTTP/1, and one admin handler serves both. The verified client identity travels on the socket, for
// the admin port's policy and its metrics.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createH2, type Http2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { detect } from '../tcp/detect.ts';
import { asPriorKnowledgeH2 } from '../tls/h2-prior-knowledge.ts';
import { acceptInboundTls } from '../tls/inbound.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';

/** Linkerd's admin detect timeout: 1 s, fixed. */
export const ADMIN_DETECT_TIMEOUT_MS = 1_000;

const CLIENT_ID = Symbol('trellis.admin.clientId');

/** The verified identity of the meshed client on an admin connection (through http2's socket proxy too). */
export function adminClientId(socket: Socket | undefined): string | undefined {
  return (socket as { [CLIENT_ID]?: string } | undefined)?.[CLIENT_ID];
}

export interface AdminAcceptOptions {
  /** The admin handler's HTTP/1 server; it is only fed connections. */
  readonly h1: Server;
  readonly handler: (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;
  /** The proxy's mesh TLS, when it has an identity; without it the port is plaintext only. */
  readonly tls: MeshTls | undefined;
  readonly onTlsFailure: (err: Error) => void;
  readonly detectTimeoutMs?: number;
}

export interface AdminAcceptor {
  accept(socket: Socket): void;
  close(): void;
}

const noop = () => undefined;

export function adminAcceptor(o: AdminAcceptOptions): AdminAcceptor {
  const timeoutMs = o.detectTimeoutMs ?? ADMIN_DETECT_TIMEOUT_MS;
  const h2: Http2Server = createH2(o.handler);
  h2.on('sessionError', noop);
  const sessions = new Set<{ destroy(): void }>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });

  const serveHttp = (socket: Socket) => {
    detect(socket, timeoutMs).then((p) => {
      if (p === 'closed') return socket.destroy();
      if (p === 'http2') {
        h2.emit('connection', 'encrypted' in socket ? asPriorKnowledgeH2(socket as TLSSocket) : socket);
        return;
      }
      // HTTP/1, or bytes node:http will answer 400 to, or a client that has said nothing yet (its timeouts apply).
      o.h1.emit('connection', socket);
      socket.resume(); // detection left it paused; node:http does not resume a socket it is handed
    }, noop);
  };

  return {
    accept(socket) {
      socket.on('error', noop);
      if (!o.tls) return serveHttp(socket);
      acceptInboundTls(socket, o.tls, timeoutMs, {
        meshed: (tlsSocket, clientId) => {
          tlsSocket.on('error', noop);
          (tlsSocket as { [CLIENT_ID]?: string })[CLIENT_ID] = clientId;
          serveHttp(tlsSocket);
        },
        // TLS for another name has nothing to reach behind the admin port.
        passthrough: (s) => s.destroy(),
        plaintext: serveHttp,
        failed: o.onTlsFailure,
      });
    },
    close() {
      for (const s of sessions) s.destroy();
      h2.close();
    },
  };
}
