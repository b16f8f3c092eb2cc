// A lean HTTP/1.1 client for the common forwarded request (keep-alive, a Content-Length, chunked or no body):
// one keep-alive pool per target, the response read with Node's own parser (llhttp, as node:http uses it) that
// lives as long as its connection, listeners set once per connection rather than per request, and each head
// written together with its first body bytes. node:http's ClientRequest and Agent cost about a fifth of a
// plaintext proxy's CPU per request (the ClientRequest constructor with Agent.addRequest alone ~13 %); what they
// do beyond this (Expect: 100-continue, Upgrade, CONNECT, throwaway connections) still goes through them (h1.ts).
import { maxHeaderSize } from './node-http.ts';
import type { Socket } from 'node:net';
import { connectTo } from '../tcp/connect.ts';
import type { TargetEntry } from '../tcp/targets.ts';
import { httpParser, type HttpParser } from '../node-internals.ts';

/** How the request body is framed on the wire (the request's own framing, passed through). */
export type Framing = 'none' | 'length' | 'chunked';

/** What the exchange hears of one request. Exactly one of `end` and `error` is called, once. */
export interface H1CallHandler {
  /** The final response head (1xx responses are skipped). */
  head(status: number, message: string, rawHeaders: string[]): void;
  /** A body chunk; returns false to stop reading until `call.resume()`. */
  body(chunk: Buffer): boolean;
  end(rawTrailers: string[]): void;
  /** The request failed; `responded`: the head had been delivered already. */
  error(err: Error, responded: boolean): void;
}

const kNoCall = Symbol('idle');

/** A pooled connection: its socket, its response parser and the request it serves (none while idle). */
class Conn<K extends object> {
  readonly socket: Socket;
  readonly parser: HttpParser;
  readonly key: K;
  call: H1Call<K> | typeof kNoCall = kNoCall;
  idleSince = 0;
  /** Header pairs llhttp flushed before the head completed (many headers), or the trailers. */
  pending: string[] = [];
  /** The response being read is a 1xx, skipped. */
  informational = false;
  private socketError: Error | undefined;

  constructor(key: K, addr: string, socket: Socket, pool: H1Pool<K>) {
    this.key = key;
    this.socket = socket;
    // Only built when the parser is there (pool.ts creates no lean pool otherwise).
    const { HTTPParser } = httpParser as NonNullable<typeof httpParser>;
    const p = new HTTPParser();
    p.initialize(HTTPParser.RESPONSE, {}, maxHeaderSize, 0);
    p[HTTPParser.kOnHeaders] = (headers: string[]) => {
      for (const h of headers) this.pending.push(h);
    };
    p[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, message: string, upgrade: boolean, keepAlive: boolean): number => {
      const call = this.call;
      let raw = headers;
      if (raw === undefined || this.pending.length > 0) {
        raw = raw ? [...this.pending, ...raw] : this.pending;
        this.pending = [];
      }
      if (call === kNoCall) {
        // An answer nobody asked for: the connection cannot be trusted any more.
        socket.destroy();
        return 1;
      }
      if (status < 200 && status !== 101) {
        this.informational = true;
        return 0;
      }
      if (upgrade || status === 101) {
        call.fail(Object.assign(new Error(`unexpected protocol switch (${status}) from ${addr}`), { code: 'HPE_UNEXPECTED_UPGRADE' }));
        return 1;
      }
      return call.onHead(status, message, raw, keepAlive) ? 1 : 0;
    };
    p[HTTPParser.kOnBody] = (chunk: Buffer) => {
      const call = this.call;
      if (call !== kNoCall && !call.onBody(chunk)) socket.pause();
    };
    p[HTTPParser.kOnMessageComplete] = () => {
      if (this.informational) {
        this.informational = false;
        return;
      }
      const trailers = this.pending;
      this.pending = [];
      const call = this.call;
      if (call !== kNoCall) call.onComplete(trailers);
    };
    this.parser = p;
    socket.on('data', (d: Buffer) => {
      const r = this.parser.execute(d);
      if (r instanceof Error) this.fatal(r);
    });
    socket.on('end', () => {
      // The server closed its side: a response framed by the close is complete now; anything else in flight broke.
      pool.forget(this);
      const r = this.parser.finish();
      if (r instanceof Error) this.fatal(r);
      socket.destroy();
    });
    socket.on('error', (err: Error) => {
      this.socketError ??= err;
    });
    socket.on('drain', () => {
      const call = this.call;
      if (call !== kNoCall) call.drained();
    });
    socket.on('close', () => {
      pool.forget(this);
      this.parser.close();
      const call = this.call;
      this.call = kNoCall;
      if (call !== kNoCall) call.fail(this.socketError ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    });
  }

  private fatal(err: Error): void {
    const call = this.call;
    this.call = kNoCall;
    this.socket.destroy();
    if (call !== kNoCall) call.fail(err);
  }
}

/** One request on a pooled connection. */
export class H1Call<K extends object = TargetEntry> {
  readonly #pool: H1Pool<K>;
  readonly #conn: Conn<K>;
  readonly #h: H1CallHandler;
  readonly #chunked: boolean;
  readonly #skipBody: boolean;
  /** The request head, until it goes out with the first body bytes (or the end). */
  #head: string | undefined;
  #requestDone = false;
  #responseDone = false;
  #responded = false;
  #keepAlive = false;
  /** The handler has heard `end` or `error`. */
  #settled = false;
  /** Failed or aborted: the connection is gone. */
  #dead = false;
  #onDrain: (() => void) | undefined;

  constructor(pool: H1Pool<K>, conn: Conn<K>, head: string, framing: Framing, skipBody: boolean, h: H1CallHandler) {
    this.#pool = pool;
    this.#conn = conn;
    this.#h = h;
    this.#head = head;
    this.#chunked = framing === 'chunked';
    this.#skipBody = skipBody;
  }

  /** Sends request body bytes; false when the connection's buffer is full (wait for `onDrain`). */
  write(chunk: Buffer): boolean {
    if (this.#dead || chunk.length === 0) return true;
    const s = this.#conn.socket;
    s.cork();
    if (this.#head !== undefined) {
      s.write(this.#head, 'latin1');
      this.#head = undefined;
    }
    const ok = writeBody(s, chunk, this.#chunked);
    s.uncork();
    return ok;
  }

  /** Calls `f` once the connection can take more body bytes. */
  onDrain(f: () => void): void {
    this.#onDrain = f;
  }

  drained(): void {
    const f = this.#onDrain;
    this.#onDrain = undefined;
    f?.();
  }

  /** Ends the request body. Request trailers are not forwarded (node:http's pipe did not either). */
  end(): void {
    if (this.#dead || this.#requestDone) return;
    this.#requestDone = true;
    const tail = this.#chunked ? '0\r\n\r\n' : '';
    if (this.#head !== undefined || tail) {
      this.#conn.socket.write((this.#head ?? '') + tail, 'latin1');
      this.#head = undefined;
    }
    if (this.#responseDone) this.#release();
  }

  /** Resumes reading the response after `body` returned false. */
  resume(): void {
    if (!this.#dead) this.#conn.socket.resume();
  }

  /** The client went away: the connection is dropped (its state is unknown). */
  abort(): void {
    if (this.#dead) return;
    this.#dead = true;
    // Released already: the connection is idle in the pool, or serving another request.
    if (this.#conn.call !== this) return;
    this.#settled = true;
    this.#conn.call = kNoCall;
    this.#conn.socket.destroy();
  }

  /** @returns whether llhttp must skip the body (a response to HEAD). */
  onHead(status: number, message: string, raw: string[], keepAlive: boolean): boolean {
    if (this.#settled) return true;
    this.#responded = true;
    this.#keepAlive = keepAlive;
    this.#h.head(status, message, raw);
    return this.#skipBody;
  }

  onBody(chunk: Buffer): boolean {
    if (this.#settled) return true;
    return this.#h.body(chunk);
  }

  onComplete(trailers: string[]): void {
    if (this.#settled) return;
    this.#responseDone = true;
    this.#settled = true;
    this.#h.end(trailers);
    // A response that ends before its request was sent: the connection is released by `end`.
    if (this.#requestDone) this.#release();
  }

  fail(err: Error): void {
    this.#dead = true;
    if (this.#settled) {
      if (this.#conn.call === this) this.#conn.call = kNoCall;
      return;
    }
    this.#settled = true;
    if (this.#conn.call === this) this.#conn.call = kNoCall;
    this.#conn.socket.destroy();
    this.#h.error(err, this.#responded);
  }

  #release(): void {
    const conn = this.#conn;
    if (conn.call !== this) return;
    conn.call = kNoCall;
    if (this.#keepAlive && this.#pool.park(conn)) {
      // Paused by back-pressure on the last body chunk: an idle connection must still notice the server's close.
      if (conn.socket.isPaused()) conn.socket.resume();
      return;
    }
    conn.socket.destroy();
  }
}

export interface H1PoolOptions<K extends object> {
  readonly connectTimeoutMs: number;
  /** Idle connections close after this long (0: never); swept once a second, as EndpointAgent does. */
  readonly idleTimeoutMs: number;
  /** Idle connections kept per target. */
  readonly maxIdle: number;
  /** Opens a connection to a key's target (for keys other than a TargetEntry, which connectTo opens). */
  readonly connect?: (key: K) => Socket;
  /** The target's address, for errors. */
  readonly addrOf?: (key: K) => string;
}

/** Keep-alive connections per target, reused last-in first-out. */
export class H1Pool<K extends object = TargetEntry> {
  readonly #o: H1PoolOptions<K>;
  readonly #connect: (key: K) => Socket;
  readonly #addrOf: (key: K) => string;
  readonly #idle = new Map<K, Conn<K>[]>();
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(o: H1PoolOptions<K>) {
    this.#o = o;
    // Without a dialer of their own the keys are TargetEntries (the plaintext and inbound paths).
    this.#connect = o.connect ?? ((key: K) => connectTo(key as unknown as TargetEntry, o.connectTimeoutMs));
    this.#addrOf = o.addrOf ?? ((key: K) => (key as unknown as TargetEntry).target.addr);
    if (o.idleTimeoutMs > 0) {
      this.#sweeper = setInterval(() => this.closeIdle(Date.now()), Math.min(1000, o.idleTimeoutMs));
      this.#sweeper.unref();
    }
  }

  /**
   * Sends a request head (`head`: request line and headers, CRLF-terminated, as written) on an idle connection
   * to the target, or a new one. The body follows with `write`/`end` on the returned call.
   */
  request(key: K, head: string, framing: Framing, skipBody: boolean, h: H1CallHandler): H1Call<K> {
    const conn = this.#takeIdle(key) ?? new Conn(key, this.#addrOf(key), this.#connect(key), this);
    const call = new H1Call(this, conn, head, framing, skipBody, h);
    conn.call = call;
    if (conn.socket.isPaused()) conn.socket.resume();
    return call;
  }

  /** The most recently parked live connection to the target (a destroyed one leaves the list before its 'close'). */
  #takeIdle(key: K): Conn<K> | undefined {
    const list = this.#idle.get(key);
    if (!list) return undefined;
    let conn = list.pop();
    while (conn && (conn.socket.destroyed || !conn.socket.writable)) conn = list.pop();
    if (list.length === 0) this.#idle.delete(key);
    return conn;
  }

  /** Idle connections per target (tests). */
  idleCount(key: K): number {
    return this.#idle.get(key)?.length ?? 0;
  }

  /** @returns false when the target already keeps its maximum of idle connections. */
  park(conn: Conn<K>): boolean {
    if (conn.socket.destroyed) return false;
    let list = this.#idle.get(conn.key);
    if (!list) this.#idle.set(conn.key, (list = []));
    if (list.length >= Math.max(1, this.#o.maxIdle)) return false;
    conn.idleSince = Date.now();
    list.push(conn);
    return true;
  }

  forget(conn: Conn<K>): void {
    const list = this.#idle.get(conn.key);
    if (!list) return;
    const i = list.indexOf(conn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#idle.delete(conn.key);
  }

  /** Closes connections idle for the idle timeout or longer. */
  closeIdle(now: number): void {
    for (const list of [...this.#idle.values()]) {
      for (const c of [...list]) {
        if (now - c.idleSince < this.#o.idleTimeoutMs) continue;
        // Out of the list now: 'close' comes a turn later, and a request in between must not take it.
        this.forget(c);
        c.socket.destroy();
      }
    }
  }

  destroy(): void {
    clearInterval(this.#sweeper);
    for (const list of [...this.#idle.values()]) for (const c of [...list]) c.socket.destroy();
    this.#idle.clear();
  }
}

/** Serializes a request head from raw header pairs (as received, already filtered). */
export function requestHead(method: string, path: string, raw: readonly string[]): string {
  // The pieces joined once: appending line by line left three or four intermediate strings per header as garbage.
  const parts = new Array<string>(raw.length * 2 + 5);
  parts[0] = method;
  parts[1] = ' ';
  parts[2] = path;
  parts[3] = ' HTTP/1.1\r\n';
  let n = 4;
  for (let i = 0; i < raw.length; i += 2) {
    parts[n++] = raw[i] as string;
    parts[n++] = ': ';
    parts[n++] = raw[i + 1] as string;
    parts[n++] = '\r\n';
  }
  // As node:http's keep-alive agent says it (the client's own Connection header is hop-by-hop, filtered).
  parts[n] = 'Connection: keep-alive\r\n\r\n';
  return parts.join('');
}

/** Writes body bytes as they are, or as one chunk of chunked coding; false when the socket wants a drain. */
export function writeBody(s: Socket, chunk: Buffer, chunked: boolean): boolean {
  if (!chunked) return s.write(chunk);
  s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
  s.write(chunk);
  return s.write('\r\n', 'latin1');
}
