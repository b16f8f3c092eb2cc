// The tap server on the control port (4190): gRPC io.linkerd.proxy.tap.Tap/Observe over HTTP/2, served only to
// the tap controller. Meshed clients must present the identity in LINKERD2_PROXY_TAP_SVC_NAME; plaintext is served
// only from loopback. Anyone else gets Unauthenticated "Unauthorized client" (or the reason they have no
// identity), as Linkerd's proxy answers. Each Observe opens a tap in the registry and streams its events; a
// client that stops reading is dropped once its buffer passes the limit, so taps never hold traffic back.
import { createServer as createH2, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { tap as tapProto } from '@trellis/proto';
import type { MeshTls } from '../tls/mesh-tls.ts';
import { detectTls } from '../tls/detect.ts';
import { asPriorKnowledgeH2 } from '../tls/h2-prior-knowledge.ts';
import { GRPC_INVALID_ARGUMENT, GRPC_UNIMPLEMENTED, TapError, UnauthorizedTapClientError } from './errors.ts';
import { unframeOne } from './grpc-frames.ts';
import type { TapHandle, TapOpener } from './registry.ts';

export const OBSERVE_PATH = '/io.linkerd.proxy.tap.Tap/Observe';

export interface TapServerOptions {
  readonly registry: TapOpener;
  /** The tap controller's identity (LINKERD2_PROXY_TAP_SVC_NAME). */
  readonly permittedId: string;
  /** Meshed mode's TLS; undefined in plaintext mode (loopback clients only). */
  readonly tls: MeshTls | undefined;
  readonly log: Pick<Logger, 'debug' | 'info'>;
  /** Bytes of events a client may leave unread before its tap is closed. */
  readonly maxBufferedBytes?: number;
  readonly detectTimeoutMs?: number;
}

export interface TapServer {
  /** Serves one accepted connection. */
  accept(socket: Socket): void;
  /** Ends every tap and connection. */
  close(): void;
}

type Auth = { readonly ok: true; readonly peer: string } | { readonly ok: false; readonly message: string };

function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && (ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.'));
}

export function createTapServer(o: TapServerOptions): TapServer {
  const maxBuffered = o.maxBufferedBytes ?? 256 * 1024;
  const servers = new Set<Http2Server>();
  const open = new Set<TapHandle>();

  const serve = (socket: Socket, auth: Auth) => {
    const h2 = createH2();
    servers.add(h2);
    h2.on('stream', (stream, headers) => onStream(stream, headers, auth));
    h2.on('sessionError', () => undefined);
    socket.once('close', () => servers.delete(h2));
    h2.emit('connection', socket);
  };

  const trailersOnly = (stream: ServerHttp2Stream, status: number, message: string) => {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
  };

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, auth: Auth) => {
    stream.on('error', () => undefined);
    if (headers[':method'] !== 'POST' || headers[':path'] !== OBSERVE_PATH) {
      trailersOnly(stream, GRPC_UNIMPLEMENTED, `unknown method ${String(headers[':path'])}`);
      return;
    }
    if (!auth.ok) {
      o.log.debug({ reason: auth.message }, 'tap client refused');
      trailersOnly(stream, new UnauthorizedTapClientError(auth.message).grpcStatus, auth.message);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65536 + 5) chunks.push(c);
    });
    stream.once('end', () => {
      let req: tapProto.ObserveRequest;
      try {
        req = tapProto.ObserveRequest.decode(unframeOne(Buffer.concat(chunks), 65536));
      } catch (err) {
        trailersOnly(stream, GRPC_INVALID_ARGUMENT, `malformed ObserveRequest: ${(err as Error).message}`);
        return;
      }
      observe(stream, req, auth.peer);
    });
  };

  const observe = (stream: ServerHttp2Stream, req: tapProto.ObserveRequest, peer: string) => {
    let ending: TapError | undefined;
    let t: TapHandle;
    try {
      t = o.registry.open(req, {
        push: (events) => {
          if (stream.destroyed || stream.closed) return true;
          // Unread events beyond the limit: this client cannot keep up, and traffic will not wait for it.
          if (stream.writableLength > maxBuffered) return false;
          stream.write(events);
          return true;
        },
        end: (err) => {
          open.delete(t);
          ending = err;
          if (err) o.log.info({ peer, code: err.code, err: err.message }, 'tap closed');
          if (!stream.destroyed && !stream.closed) stream.end();
        },
      });
    } catch (err) {
      if (err instanceof TapError) trailersOnly(stream, err.grpcStatus, err.message);
      else trailersOnly(stream, GRPC_INVALID_ARGUMENT, (err as Error).message);
      return;
    }
    open.add(t);
    o.log.debug({ peer, base: t.base, limit: req.limit }, 'tap opened');
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => {
      const trailers = ending ? { 'grpc-status': String(ending.grpcStatus), 'grpc-message': encodeURIComponent(ending.message) } : { 'grpc-status': '0' };
      stream.sendTrailers(trailers);
    });
    // The client cancelled or went away: its tap takes no more requests.
    stream.once('close', () => t.close());
  };

  const accept = (socket: Socket) => {
    socket.on('error', () => undefined);
    const tls = o.tls;
    void detectTls(socket, tls?.localName, o.detectTimeoutMs ?? 10_000).then(
      (d) => {
        if (d.kind === 'closed') return socket.destroy();
        if (d.kind === 'plaintext') {
          const loopback = isLoopback(socket.remoteAddress);
          return serve(socket, loopback ? { ok: true, peer: 'loopback' } : { ok: false, message: 'no TLS from remote' });
        }
        // A ClientHello for another name than ours, or TLS without a certificate of our own: nothing to offer.
        if (d.kind === 'passthrough' || !tls) return socket.destroy();
        tls.terminate(socket, { alpn: ['h2'], handshakeTimeoutMs: o.detectTimeoutMs ?? 10_000 }).then(
          // A meshed tap controller's proxy speaks HTTP/2 by prior knowledge, with no ALPN, as between all proxies.
          (t) => serve(asPriorKnowledgeH2(t.socket) as unknown as Socket, t.clientId === o.permittedId ? { ok: true, peer: t.clientId } : { ok: false, message: 'Unauthorized client' }),
          (err: Error) => o.log.debug({ err: err.message }, 'tap connection TLS failed'),
        );
      },
      () => socket.destroy(),
    );
  };

  return {
    accept,
    close: () => {
      for (const t of [...open]) t.close();
      for (const s of servers) s.close();
    },
  };
}
