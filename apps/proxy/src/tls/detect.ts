// Inbound TLS detection (docs/reference/linkerd-proxy.md §2 "Inbound decision" step 2): read until the ClientHello can be
// judged (at most 8 KiB), put the bytes back, and decide: our SNI → terminate, another SNI → pass through
// untouched, no ClientHello → plaintext. A timeout is an error: Linkerd closes such connections.
import type { Socket } from 'node:net';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from './client-hello.ts';
import { TlsDetectTimeoutError } from './errors.ts';

export type TlsDetection =
  | { readonly kind: 'terminate'; readonly sni: string; readonly alpn: readonly string[] }
  | { readonly kind: 'passthrough'; readonly sni: string | undefined }
  | { readonly kind: 'plaintext' }
  | { readonly kind: 'closed' };

/** Reads without consuming: whatever was read is unshifted, and the socket left paused, before the promise settles. */
export function detectTls(socket: Socket, localName: string | undefined, timeoutMs: number): Promise<TlsDetection> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = timeoutMs > 0 ? setTimeout(() => done(undefined, new TlsDetectTimeoutError(timeoutMs)), timeoutMs) : undefined;
    const done = (result: TlsDetection | undefined, err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (size > 0) socket.unshift(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
      if (err) reject(err);
      else resolve(result as TlsDetection);
    };
    const onEnd = () => done(size > 0 ? { kind: 'plaintext' } : { kind: 'closed' });
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const buf = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const r = parseClientHello(buf);
      if (r.kind === 'not-tls') return done({ kind: 'plaintext' });
      if (r.kind === 'hello') {
        if (localName !== undefined && r.sni === localName) return done({ kind: 'terminate', sni: r.sni, alpn: r.alpn });
        return done({ kind: 'passthrough', sni: r.sni });
      }
      // Too much without a whole ClientHello: not something we terminate.
      if (size >= MAX_CLIENT_HELLO_BYTES) return done({ kind: 'plaintext' });
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}
