// The original destination of a REDIRECTed TCP connection, as the proxy needs it on every accepted socket.
// Like Linkerd's proxy, the call is chosen by the peer's address family, and IPv4-mapped IPv6 peers
// (::ffff:a.b.c.d on a dual-stack listener) take the IPv4 call.
import { constants } from 'node:os';
import type { Socket } from 'node:net';
import { NotRedirectedError, OriginalDstError, type SocketAddress } from './errors.ts';
import { loadAddon, type NativeAddon } from './native.ts';

export interface OriginalDestination extends SocketAddress {
  readonly family: 4 | 6;
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** a.b.c.d for an IPv4-mapped IPv6 address, the address itself otherwise. */
export function unmapAddress(address: string): string {
  return MAPPED_V4.exec(address)?.[1] ?? address;
}

/** 4 when the peer is IPv4 (or IPv4-mapped), 6 otherwise. */
export function familyOf(address: string): 4 | 6 {
  return unmapAddress(address).includes(':') ? 6 : 4;
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
export const errnoName = (n: number): string => ERRNO_NAMES.get(n) ?? `errno ${n}`;

// net.Socket keeps its libuv handle in `_handle`; on Unix that handle exposes the file descriptor. It is not a
// public API, but it is the only way to reach the fd of a socket that net.Server accepted.
function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Reads SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6) from an accepted socket.
 * Throws NotRedirectedError when iptables did not redirect the connection, OriginalDstError when the socket
 * cannot be asked (closed, not connected), NativeAddonMissingError when the addon was not built.
 */
export function originalDestination(socket: Socket, addon: NativeAddon = loadAddon()): OriginalDestination {
  const remote = socket.remoteAddress;
  const fd = fdOf(socket);
  if (remote === undefined || fd === undefined) {
    throw new OriginalDstError('the socket is not a connected TCP socket with a file descriptor (is it closed?)');
  }
  const family = familyOf(remote);
  const local = socket.localAddress === undefined ? undefined : { address: unmapAddress(socket.localAddress), port: socket.localPort ?? 0 };
  const result = family === 4 ? addon.originalDst4(fd) : addon.originalDst6(fd);
  if (typeof result === 'number') {
    const name = errnoName(result);
    if (name === 'ENOENT') throw new NotRedirectedError('the connection has no NAT record: it was not redirected', local);
    throw new OriginalDstError(`getsockopt(${family === 4 ? 'SO_ORIGINAL_DST' : 'IP6T_SO_ORIGINAL_DST'}) failed: ${name}`, name);
  }
  if (local && result.address === local.address && result.port === local.port) {
    throw new NotRedirectedError(`the connection was made to ${result.address}:${result.port} directly, not redirected`, local);
  }
  return { address: result.address, port: result.port, family };
}
