// Reads a TLS ClientHello far enough to learn its SNI and ALPN without consuming it (docs/reference/linkerd-proxy.md §2
// "Inbound decision"): the inbound proxy must decide to terminate or pass through before OpenSSL sees
// a byte. Handshake messages may span several records, so record payloads are joined before parsing.
//
// Wire layout (RFC 8446 §5.1, §4.1.2): record = type(1)=22 | version(2) | length(2) | payload; handshake =
// type(1)=1 | length(3) | legacy_version(2) | random(32) | session_id<0..32> | cipher_suites<2..2^16-2> |
// compression<1..2^8-1> | extensions<0..2^16-1>; server_name (0) = list<2> of (type(1)=0, name<2>);
// ALPN (16) = list<2> of protocol<1>.

export type ClientHelloResult =
  /** A ClientHello: its SNI (undefined when absent) and offered ALPN protocols. */
  | { readonly kind: 'hello'; readonly sni: string | undefined; readonly alpn: readonly string[] }
  /** Could still be a ClientHello: more bytes are needed. */
  | { readonly kind: 'incomplete' }
  /** Certainly not a ClientHello (plaintext, or some other TLS record). */
  | { readonly kind: 'not-tls' };

const RECORD_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
/** Linkerd buffers at most 8 KiB looking for a ClientHello. */
export const MAX_CLIENT_HELLO_BYTES = 8 * 1024;

const INCOMPLETE: ClientHelloResult = { kind: 'incomplete' };
const NOT_TLS: ClientHelloResult = { kind: 'not-tls' };

export function parseClientHello(buf: Uint8Array): ClientHelloResult {
  // Join record payloads until the handshake message is whole.
  const parts: Uint8Array[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  for (;;) {
    if (buf.length - off < 1) return INCOMPLETE;
    if (buf[off] !== RECORD_HANDSHAKE) return NOT_TLS;
    if (buf.length - off < 5) return INCOMPLETE;
    // Record versions are 0x0301..0x0304 in practice (0x0300 for SSLv3-era stacks); anything else is not TLS.
    if (buf[off + 1] !== 3 || (buf[off + 2] as number) > 4) return NOT_TLS;
    const len = ((buf[off + 3] as number) << 8) | (buf[off + 4] as number);
    if (len === 0 || len > 16_384 + 256) return NOT_TLS;
    if (buf.length - off - 5 < len) {
      // A partial record still tells us the handshake type early.
      if (have === 0 && buf.length - off > 5 && buf[off + 5] !== HANDSHAKE_CLIENT_HELLO) return NOT_TLS;
      return INCOMPLETE;
    }
    const payload = buf.subarray(off + 5, off + 5 + len);
    parts.push(payload);
    have += payload.length;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const first = parts.length === 1 ? payload : Buffer.concat(parts);
      if (first[0] !== HANDSHAKE_CLIENT_HELLO) return NOT_TLS;
      need = 4 + (((first[1] as number) << 16) | ((first[2] as number) << 8) | (first[3] as number));
      if (need > MAX_CLIENT_HELLO_BYTES * 8) return NOT_TLS;
    }
    if (need >= 0 && have >= need) break;
  }
  const msg = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
  return parseHelloBody(msg.subarray(4, need));
}

function parseHelloBody(b: Uint8Array): ClientHelloResult {
  const r = new Reader(b);
  if (!r.skip(2 + 32)) return NOT_TLS;
  const session = r.u8();
  if (session === undefined || session > 32 || !r.skip(session)) return NOT_TLS;
  const suites = r.u16();
  if (suites === undefined || !r.skip(suites)) return NOT_TLS;
  const comp = r.u8();
  if (comp === undefined || !r.skip(comp)) return NOT_TLS;
  let sni: string | undefined;
  let alpn: string[] = [];
  if (r.remaining === 0) return { kind: 'hello', sni, alpn };
  const extLen = r.u16();
  if (extLen === undefined || extLen > r.remaining) return NOT_TLS;
  const ext = new Reader(r.take(extLen) as Uint8Array);
  while (ext.remaining > 0) {
    const type = ext.u16();
    const len = ext.u16();
    if (type === undefined || len === undefined) return NOT_TLS;
    const body = ext.take(len);
    if (body === undefined) return NOT_TLS;
    if (type === EXT_SERVER_NAME) {
      const name = readServerName(body);
      if (name === null) return NOT_TLS;
      sni = name;
    } else if (type === EXT_ALPN) {
      const protos = readAlpn(body);
      if (protos === null) return NOT_TLS;
      alpn = protos;
    }
  }
  return { kind: 'hello', sni, alpn };
}

function readServerName(body: Uint8Array): string | undefined | null {
  const r = new Reader(body);
  const listLen = r.u16();
  if (listLen === undefined || listLen !== r.remaining) return null;
  while (r.remaining > 0) {
    const type = r.u8();
    const len = r.u16();
    if (type === undefined || len === undefined) return null;
    const name = r.take(len);
    if (name === undefined) return null;
    if (type === 0) return Buffer.from(name).toString('latin1').toLowerCase();
  }
  return undefined;
}

function readAlpn(body: Uint8Array): string[] | null {
  const r = new Reader(body);
  const listLen = r.u16();
  if (listLen === undefined || listLen !== r.remaining) return null;
  const out: string[] = [];
  while (r.remaining > 0) {
    const len = r.u8();
    if (len === undefined || len === 0) return null;
    const p = r.take(len);
    if (p === undefined) return null;
    out.push(Buffer.from(p).toString('latin1'));
  }
  return out;
}

class Reader {
  readonly #b: Uint8Array;
  #o = 0;
  constructor(b: Uint8Array) {
    this.#b = b;
  }
  get remaining(): number {
    return this.#b.length - this.#o;
  }
  u8(): number | undefined {
    if (this.remaining < 1) return undefined;
    return this.#b[this.#o++];
  }
  u16(): number | undefined {
    if (this.remaining < 2) return undefined;
    const v = ((this.#b[this.#o] as number) << 8) | (this.#b[this.#o + 1] as number);
    this.#o += 2;
    return v;
  }
  skip(n: number): boolean {
    if (this.remaining < n) return false;
    this.#o += n;
    return true;
  }
  take(n: number): Uint8Array | undefined {
    if (this.remaining < n) return undefined;
    const v = this.#b.subarray(this.#o, this.#o + n);
    this.#o += n;
    return v;
  }
}
