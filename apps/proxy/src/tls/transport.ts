// Opaque transport (docs/reference/linkerd-contracts.md §1.12): mTLS to the peer's inbound port with ALPN transport.l5d.io/v1, then the
// transport header naming the real target port (and the session protocol when known), then the app's bytes.
// The direct (4143) side requires both a client identity and the header.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { encodeTransportHeader, readTransportHeader, TRANSPORT_HEADER_ALPN, type transport } from '@trellis/proto';
import { TransportHeaderError } from './errors.ts';
import type { MeshTls, PeerTarget, TerminatedTls } from './mesh-tls.ts';

export { TRANSPORT_HEADER_ALPN };

/** Linkerd's words for the two refusals of its direct stack (its log and error lines), kept so logs read alike. */
export const DIRECT_NO_IDENTITY = 'direct connections must be mutually authenticated';
export const DIRECT_NO_HEADER = 'direct connections require transport header negotiation';

export type SessionProtocol = 'http1' | 'http2' | undefined;

export function headerFor(port: number, opts: { name?: string; session?: SessionProtocol } = {}): transport.Header {
  const sessionProtocol: transport.SessionProtocol | undefined =
    opts.session === 'http1' ? { kind: { $case: 'http1', value: {} } } : opts.session === 'http2' ? { kind: { $case: 'http2', value: {} } } : undefined;
  return { port, name: opts.name ?? '', sessionProtocol };
}

/** Connects to the peer's inbound port and writes the header if the peer negotiated the ALPN. */
export async function connectOpaqueTransport(tls: MeshTls, peer: Omit<PeerTarget, 'alpn'>, header: transport.Header, tcp?: Socket): Promise<TLSSocket> {
  const socket = await tls.connect({ ...peer, alpn: [TRANSPORT_HEADER_ALPN] }, tcp);
  if (socket.alpnProtocol === TRANSPORT_HEADER_ALPN) socket.write(encodeTransportHeader(header));
  return socket;
}

/**
 * Reads the header from a terminated direct connection; bytes after it are unshifted for the next stack.
 * The socket is left paused: the next stack resumes it. Rejects a connection without a client identity, without the ALPN, or whose header is malformed or late.
 */
export function readDirectHeader(conn: TerminatedTls, timeoutMs: number): Promise<transport.Header> {
  const { socket } = conn;
  if (!conn.clientId) return Promise.reject(new TransportHeaderError('TRELLIS_ERR_DIRECT_NO_IDENTITY', DIRECT_NO_IDENTITY));
  if (conn.alpn !== TRANSPORT_HEADER_ALPN) return Promise.reject(new TransportHeaderError('TRELLIS_ERR_TRANSPORT_HEADER_REQUIRED', DIRECT_NO_HEADER));
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new TransportHeaderError('TRELLIS_ERR_TRANSPORT_HEADER_TIMEOUT', `no transport header within ${timeoutMs}ms`)), timeoutMs);
    const finish = (err?: Error, header?: transport.Header, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (rest && rest.length > 0) socket.unshift(rest);
      if (err) reject(err);
      else resolve(header as transport.Header);
    };
    const onEnd = () => finish(new TransportHeaderError('TRELLIS_ERR_TRANSPORT_HEADER_REQUIRED', 'connection closed before the transport header'));
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        const r = readTransportHeader(buf);
        if (r.complete) finish(undefined, r.header, buf.subarray(r.length));
      } catch (err) {
        finish(err as Error);
      }
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.resume();
  });
}
