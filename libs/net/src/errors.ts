// Errors of @trellis/net, with stable codes.
import { TrellisError } from '@trellis/config';

export interface SocketAddress {
  readonly address: string;
  readonly port: number;
}

/**
 * The connection was not redirected by iptables: the kernel has no NAT record for it, or the record says it
 * reached this socket at its own address (a client connected to the proxy port directly). `local` is the
 * socket's own address, which callers treat as the destination in that case.
 */
export class NotRedirectedError extends TrellisError {
  readonly local: SocketAddress | undefined;
  constructor(message: string, local: SocketAddress | undefined) {
    super('TRELLIS_ERR_NOT_REDIRECTED', message);
    this.local = local;
  }
}

/** The lookup itself failed (closed socket, no file descriptor, unexpected errno). */
export class OriginalDstError extends TrellisError {
  /** The errno name from getsockopt, when there was one (e.g. EBADF). */
  readonly errno: string | undefined;
  constructor(message: string, errno?: string) {
    super('TRELLIS_ERR_ORIGINAL_DST', message);
    this.errno = errno;
  }
}

/** The compiled addon is not where we looked; the message lists the paths and how to build it. */
export class NativeAddonMissingError extends TrellisError {
  constructor(message: string, cause: unknown) {
    super('TRELLIS_ERR_NATIVE_ADDON_MISSING', message, { cause });
  }
}
