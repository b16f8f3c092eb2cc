// HTTP/2 between proxies runs inside mTLS by prior knowledge, with no ALPN (docs/reference/linkerd-proxy.md §3 "ALPN").
// node:http2 treats a TLS socket whose ALPN is not h2 as HTTP/1 (and refuses it without allowHTTP1), so a
// terminated socket is marked as h2 before it is handed to an http2 server or client session.
import type { TLSSocket } from 'node:tls';

export function asPriorKnowledgeH2<T extends TLSSocket>(socket: T): T {
  if (!socket.alpnProtocol) (socket as { alpnProtocol: string | false | null }).alpnProtocol = 'h2';
  return socket;
}
