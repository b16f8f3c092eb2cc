// mTLS between proxies (docs/reference/linkerd-proxy.md §3 "TLS parameters"): TLS 1.3 only, Linkerd's cipher
// suites, our current certificate on both sides. Contexts are built once per certificate (a rotation builds new
// ones, so new connections use the new certificate and open ones keep theirs); sessions are never resumed.
//
// Client: the chain must lead to the trust anchors (OpenSSL, rejectUnauthorized), then the expected identity
// must be among the leaf's DNS/URI SANs (SNI-hostname matching is skipped, as Linkerd does).
// Server: a client certificate is requested but optional; one that does not verify is refused; the verified
// client identity is the leaf's first DNS/URI SAN.
import { constants } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, connect as tlsConnect, type SecureContext } from 'node:tls';
import { sanNames, type Credentials } from '../identity/credentials.ts';
import { NoIdentityError, TlsHandshakeError, TlsIdentityMismatchError } from './errors.ts';
import { clientVerifyError, handshakeDone } from '../node-internals.ts';

export const TLS13_CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
/** Key exchange in Linkerd's order, minus the hybrid post-quantum group OpenSSL may lack. */
const ECDH_CURVES = 'X25519:P-256:P-384';
/** Our own signatures are ECDSA P-256 with SHA-256; peers may use the others Linkerd accepts. */
const SIGALGS = 'ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512:ed25519:rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512';

export interface CredentialSource {
  current(): Credentials | undefined;
}

export interface PeerTarget {
  /** For error messages: "10.0.0.5:8080". */
  readonly addr: string;
  readonly host: string;
  readonly port: number;
  /** The identity the peer's certificate must name. */
  readonly serverId: string;
  /** SNI; defaults to serverId. */
  readonly serverName?: string;
  /** Offered only with a transport header (opaque transport, gateways). */
  readonly alpn?: readonly string[];
}

export interface TerminatedTls {
  readonly socket: TLSSocket;
  /** The verified client identity; '' when the client sent no certificate. */
  readonly clientId: string;
  readonly alpn: string | false;
}

interface Contexts {
  readonly generation: number;
  readonly client: SecureContext;
  readonly server: SecureContext;
}

function contextOptions(c: Credentials) {
  return {
    minVersion: 'TLSv1.3' as const,
    maxVersion: 'TLSv1.3' as const,
    ciphersuites: TLS13_CIPHERSUITES,
    ecdhCurve: ECDH_CURVES,
    sigalgs: SIGALGS,
    cert: c.tls.cert,
    key: c.tls.key,
    ca: c.tls.ca,
  };
}

export class MeshTls {
  readonly #source: CredentialSource;
  #contexts: Contexts | undefined;

  constructor(source: CredentialSource) {
    this.#source = source;
  }

  /** The current contexts, rebuilt when the certificate changed. */
  #get(): Contexts {
    const c = this.#source.current();
    if (!c) throw new NoIdentityError();
    if (this.#contexts?.generation !== c.generation) {
      const opts = contextOptions(c);
      // No session tickets: Linkerd disables resumption, and a ticket would outlive a rotated certificate.
      const server = createSecureContext({ ...opts, secureOptions: constants.SSL_OP_NO_TICKET });
      this.#contexts = { generation: c.generation, client: createSecureContext(opts), server };
    }
    return this.#contexts;
  }

  get localName(): string | undefined {
    return this.#source.current()?.identity;
  }

  /**
   * Starts mTLS to a peer and returns the socket at once (for node:http Agent.createConnection, which must be
   * synchronous). A peer that is not the expected identity fails the socket with TlsIdentityMismatchError; any
   * other handshake failure with TlsHandshakeError; no certificate yet with NoIdentityError.
   */
  socket(peer: PeerTarget, socket?: Socket): TLSSocket {
    const ctx = this.#get();
    let mismatch: TlsIdentityMismatchError | undefined;
    const tls = tlsConnect({
      socket: socket ?? netConnect({ host: peer.host, port: peer.port, noDelay: true }),
      secureContext: ctx.client,
      servername: peer.serverName ?? peer.serverId,
      minVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      ...(peer.alpn ? { ALPNProtocols: [...peer.alpn] } : {}),
      checkServerIdentity: (_host, cert) => {
        const names = sanNames(cert.subjectaltname);
        if (names.includes(peer.serverId)) return undefined;
        mismatch = new TlsIdentityMismatchError(peer.addr, peer.serverId, names);
        return mismatch;
      },
    });
    // Errors before the handshake completes become typed errors; later ones pass through unchanged.
    const origEmit = tls.emit.bind(tls);
    tls.emit = ((event: string, ...args: unknown[]) => {
      if (event === 'error' && !tls.authorized && !(args[0] instanceof TlsHandshakeError)) {
        const err = args[0] as Error;
        args[0] = mismatch ?? new TlsHandshakeError(peer.addr, (err as { code?: string }).code ?? err.message, { cause: err });
      }
      return origEmit(event, ...args);
    }) as typeof tls.emit;
    return tls;
  }

  /**
   * Opens mTLS to a peer (over `socket` when given, else a new TCP connection). Resolves once the handshake
   * is done and the peer is verified; rejects with TlsIdentityMismatchError or TlsHandshakeError.
   */
  connect(peer: PeerTarget, socket?: Socket): Promise<TLSSocket> {
    let tls: TLSSocket;
    try {
      tls = this.socket(peer, socket);
    } catch (err) {
      socket?.destroy();
      return Promise.reject(err as Error);
    }
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        tls.destroy();
        reject(err);
      };
      const closed = () => onError(new TlsHandshakeError(peer.addr, 'connection closed during the handshake'));
      tls.once('error', onError);
      tls.once('close', closed);
      tls.once('secureConnect', () => {
        tls.off('error', onError);
        tls.off('close', closed);
        resolve(tls);
      });
    });
  }

  /**
   * Terminates TLS on an accepted socket whose ClientHello named us. Bytes already read must have been
   * unshifted back onto `socket`: TLSSocket feeds a wrapped socket's buffered bytes to OpenSSL before reading
   * the kernel (node's initRead), so detection costs no extra copy on the hot path. Resolves after the handshake; a client certificate that does not verify
   * (foreign anchor, expired) is refused.
   */
  terminate(socket: Socket, opts: { alpn?: readonly string[]; handshakeTimeoutMs?: number } = {}): Promise<TerminatedTls> {
    let ctx: Contexts;
    try {
      ctx = this.#get();
    } catch (err) {
      socket.destroy();
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const tls = new TLSSocket(socket, {
        isServer: true,
        secureContext: ctx.server,
        requestCert: true,
        rejectUnauthorized: false,
        ...(opts.alpn ? { ALPNProtocols: [...opts.alpn] } : {}),
      });
      const timer = opts.handshakeTimeoutMs ? setTimeout(() => tls.destroy(new TlsHandshakeError('client', 'handshake timed out')), opts.handshakeTimeoutMs) : undefined;
      const fail = (err: Error) => {
        clearTimeout(timer);
        tls.destroy();
        reject(err instanceof TlsHandshakeError ? err : new TlsHandshakeError('client', (err as { code?: string }).code ?? err.message, { cause: err }));
      };
      const closed = () => fail(new TlsHandshakeError('client', 'connection closed during the handshake'));
      tls.once('error', fail);
      tls.once('close', closed);
      tls.once('secure', () => {
        clearTimeout(timer);
        tls.off('error', fail);
        tls.off('close', closed);
        const peer = tls.getPeerCertificate();
        const presented = peer !== null && Object.keys(peer).length > 0;
        const verifyError = presented ? clientVerifyError(tls) : undefined;
        if (verifyError !== undefined) {
          const why = verifyError;
          tls.destroy();
          reject(new TlsHandshakeError('client', `client certificate refused: ${why}`));
          return;
        }
        const clientId = presented ? (sanNames(peer.subjectaltname)[0] ?? '') : '';
        handshakeDone(tls);
        resolve({ socket: tls, clientId, alpn: tls.alpnProtocol ?? false });
      });
    });
  }
}
