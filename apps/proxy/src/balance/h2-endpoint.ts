// One multiplexed HTTP/2 connection per endpoint (docs/reference/linkerd-proxy.md §4 "Connection pooling"), over mTLS when
// discovery gave an identity: the handshake happens once per connection, never per request. A failed or
// closed connection makes the endpoint not ready and is re-established with backoff (100 ms → 60 s).
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Backoff } from '../discovery/backoff.ts';
import type { MeshTls } from '../tls/mesh-tls.ts';

export interface H2Target {
  readonly addr: string;
  readonly ip: string;
  readonly port: number;
  /** mTLS to this identity when set; plaintext h2 otherwise. */
  readonly identity: string | undefined;
  readonly serverName: string | undefined;
}

export interface H2EndpointOptions {
  readonly target: H2Target;
  readonly tls: MeshTls;
  /** Told when the connection is up (true) or lost (false), to keep the balancer's view current. */
  readonly onReady?: (ready: boolean) => void;
  readonly connectTimeoutMs?: number;
  /** Told of each TCP connection opened (the endpoint's tcp_* metrics). */
  readonly onSocket?: (socket: Socket) => void;
  readonly backoff?: Backoff;
  readonly initialWindowSize?: number;
  readonly connectionWindowSize?: number;
}

export class H2Endpoint {
  readonly #o: H2EndpointOptions;
  readonly #backoff: Backoff;
  #session: Promise<ClientHttp2Session> | undefined;
  /** The session once connected, for callers that need no promise (the endpoint client's send). */
  #live: ClientHttp2Session | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Connections opened so far (a test of reuse). */
  connects = 0;

  constructor(o: H2EndpointOptions) {
    this.#o = o;
    this.#backoff = o.backoff ?? new Backoff();
  }

  /** The live session, connecting first if there is none. */
  session(): Promise<ClientHttp2Session> {
    if (this.#closed) return Promise.reject(new Error(`endpoint ${this.#o.target.addr} is closed`));
    this.#session ??= this.#connect();
    return this.#session;
  }

  /** The connected session, if there is one now (no connecting, no waiting). */
  live(): ClientHttp2Session | undefined {
    const s = this.#live;
    return s && !s.closed && !s.destroyed ? s : undefined;
  }

  async #transport(): Promise<Duplex> {
    const t = this.#o.target;
    const dial = (): Socket => {
      const s = netConnect({ host: t.ip, port: t.port, noDelay: true });
      this.#o.onSocket?.(s);
      return s;
    };
    if (t.identity) return this.#o.tls.connect({ addr: t.addr, host: t.ip, port: t.port, serverId: t.identity, ...(t.serverName ? { serverName: t.serverName } : {}) }, dial());
    return new Promise<Socket>((resolve, reject) => {
      const s = dial();
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  async #connect(): Promise<ClientHttp2Session> {
    this.connects++;
    const t = this.#o.target;
    const timeoutMs = this.#o.connectTimeoutMs ?? 1_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const transport = await Promise.race([
        this.#transport(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error(`connect to ${t.addr} timed out after ${timeoutMs}ms`), { code: 'TRELLIS_ERR_CONNECT_TIMEOUT' })), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const session = h2connect(`http://${t.addr}`, {
        createConnection: () => transport,
        settings: { initialWindowSize: this.#o.initialWindowSize ?? 65_535 },
      });
      session.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        session.once('connect', () => resolve());
        session.once('error', reject);
        session.once('close', () => reject(new Error(`connection to ${t.addr} closed before HTTP/2 was ready`)));
      });
      session.setLocalWindowSize(this.#o.connectionWindowSize ?? 1_048_576);
      const lost = () => this.#lost();
      session.once('close', lost);
      session.once('goaway', lost);
      this.#backoff.reset();
      this.#live = session;
      this.#o.onReady?.(true);
      return session;
    } catch (err) {
      clearTimeout(timer);
      this.#lost();
      throw err;
    }
  }

  #lost(): void {
    this.#session = undefined;
    this.#live = undefined;
    if (this.#closed) return;
    this.#o.onReady?.(false);
    clearTimeout(this.#retry);
    // Reconnect in the background; the balancer skips the endpoint meanwhile.
    this.#retry = setTimeout(() => {
      if (this.#closed || this.#session) return;
      this.session().catch(() => undefined);
    }, this.#backoff.next());
    this.#retry.unref();
  }

  /** Closes gracefully: streams in flight finish, then the connection goes. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    void this.#session?.then((s) => s.close()).catch(() => undefined);
  }
}
