// The inbound TLS step (docs/reference/linkerd-proxy.md §2 "Inbound decision" 2, §3 "Server side") as one function over an
// accepted socket: our SNI → terminate (the verified client id travels with the socket), another SNI → pass
// through as opaque TCP, no ClientHello → plaintext. Refused handshakes and detection timeouts close the
// socket and are reported. Where it plugs in: the inbound accept path, before HTTP detection.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProxyError } from '../errors.ts';
import { detectTls } from './detect.ts';
import { asPriorKnowledgeH2 } from './h2-prior-knowledge.ts';
import type { MeshTls } from './mesh-tls.ts';

export interface InboundTlsHandlers {
  /** A meshed connection: HTTP detection continues on `socket`; `clientId` feeds l5d-client-id and metrics. */
  meshed(socket: TLSSocket, clientId: string): void;
  /** Application TLS to another name: forward untouched (tls="opaque", sni=...). */
  passthrough(socket: Socket, sni: string | undefined): void;
  /** No TLS: HTTP detection continues in plaintext (no_tls_reason="no_tls_from_remote"). */
  plaintext(socket: Socket): void;
  /** Detection timed out or the handshake was refused; the socket is already closed. */
  failed(err: ProxyError | Error): void;
}

/** `alpn`: advertised on terminated connections (the direct port offers transport.l5d.io/v1). */
export function acceptInboundTls(socket: Socket, tls: MeshTls, detectTimeoutMs: number, h: InboundTlsHandlers, alpn?: readonly string[]): void {
  detectTls(socket, tls.localName, detectTimeoutMs).then(
    (d) => {
      switch (d.kind) {
        case 'terminate':
          tls.terminate(socket, { handshakeTimeoutMs: detectTimeoutMs, ...(alpn ? { alpn } : {}) }).then(
            (t) => h.meshed(t.alpn === false ? asPriorKnowledgeH2(t.socket) : t.socket, t.clientId),
            (err: Error) => h.failed(err),
          );
          return;
        case 'passthrough':
          h.passthrough(socket, d.sni);
          return;
        case 'plaintext':
          h.plaintext(socket);
          return;
        case 'closed':
          socket.destroy();
          return;
      }
    },
    (err: Error) => {
      socket.destroy();
      h.failed(err);
    },
  );
}
