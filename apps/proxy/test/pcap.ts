// Reads a tcpdump capture (classic pcap, Ethernet, IPv4) of TLS connections to one port: per TCP connection the
// bytes each side sent, and from them the ClientHello's SNI and the version the ServerHello chose
// (supported_versions for TLS 1.3, RFC 8446 §4.2.1). Enough to show what went over the wire, nothing more.

export interface TcpFlow {
  /** "ip:port>ip:port" of the client side. */
  readonly key: string;
  readonly fromClient: Buffer;
  readonly fromServer: Buffer;
}

export interface TlsFlow extends TcpFlow {
  readonly sni: string | undefined;
  /** The ServerHello's negotiated version: 'TLSv1.3', 'TLSv1.2', ... or undefined when there was none. */
  readonly version: string | undefined;
  /** TLS record content types in the order the server sent them (22 handshake, 20 change cipher spec, 23 data). */
  readonly serverRecordTypes: readonly number[];
}

/** Splits a capture into TCP flows whose server side is `port` (payload bytes in capture order). */
export function tcpFlows(pcap: Buffer, port: number): TcpFlow[] {
  const magic = pcap.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number) => (le ? pcap.readUInt32LE(o) : pcap.readUInt32BE(o));
  if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap file');
  if (u32(20) !== 1) throw new Error(`link type ${u32(20)} is not Ethernet`);
  const flows = new Map<string, { c: Buffer[]; s: Buffer[] }>();
  for (let o = 24; o + 16 <= pcap.length; ) {
    const len = u32(o + 8);
    const frame = pcap.subarray(o + 16, o + 16 + len);
    o += 16 + len;
    if (frame.length < 14 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    if (ip[9] !== 6) continue;
    const ihl = ((ip[0] as number) & 0x0f) * 4;
    const total = ip.readUInt16BE(2);
    const src = `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
    const dst = `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`;
    const tcp = ip.subarray(ihl, total);
    const sport = tcp.readUInt16BE(0);
    const dport = tcp.readUInt16BE(2);
    const payload = tcp.subarray(((tcp[12] as number) >> 4) * 4);
    if (dport !== port && sport !== port) continue;
    const toServer = dport === port;
    const key = toServer ? `${src}:${sport}>${dst}:${dport}` : `${dst}:${dport}>${src}:${sport}`;
    let f = flows.get(key);
    if (!f) flows.set(key, (f = { c: [], s: [] }));
    if (payload.length > 0) (toServer ? f.c : f.s).push(Buffer.from(payload));
  }
  return [...flows].map(([key, f]) => ({ key, fromClient: Buffer.concat(f.c), fromServer: Buffer.concat(f.s) }));
}

function records(b: Buffer): { type: number; body: Buffer }[] {
  const out: { type: number; body: Buffer }[] = [];
  for (let o = 0; o + 5 <= b.length; ) {
    const len = b.readUInt16BE(o + 3);
    out.push({ type: b[o] as number, body: b.subarray(o + 5, o + 5 + len) });
    o += 5 + len;
  }
  return out;
}

/** The extensions of a ClientHello (type 1) or ServerHello (type 2) handshake message. */
function helloExtensions(msg: Buffer): Map<number, Buffer> {
  let o = 4 + 2 + 32; // handshake header, legacy_version, random
  o += 1 + (msg[o] as number); // session id
  if (msg[0] === 1) {
    o += 2 + msg.readUInt16BE(o); // cipher suites
    o += 1 + (msg[o] as number); // compression methods
  } else {
    o += 2 + 1; // cipher suite, compression method
  }
  const end = o + 2 + msg.readUInt16BE(o);
  const ext = new Map<number, Buffer>();
  for (o += 2; o + 4 <= end; ) {
    const len = msg.readUInt16BE(o + 2);
    ext.set(msg.readUInt16BE(o), msg.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  return ext;
}

const VERSIONS: Record<number, string> = { 0x0304: 'TLSv1.3', 0x0303: 'TLSv1.2', 0x0302: 'TLSv1.1', 0x0301: 'TLSv1' };

export function tlsFlows(pcap: Buffer, port: number): TlsFlow[] {
  return tcpFlows(pcap, port).map((f) => {
    const c = records(f.fromClient)[0];
    const s = records(f.fromServer);
    let sni: string | undefined;
    let version: string | undefined;
    if (c?.type === 22 && c.body[0] === 1) {
      const name = helloExtensions(c.body).get(0);
      // server_name_list: list length (2), name type (1), name length (2), name.
      if (name) sni = name.subarray(5, 5 + name.readUInt16BE(3)).toString();
    }
    const sh = s[0];
    if (sh?.type === 22 && sh.body[0] === 2) {
      const chosen = helloExtensions(sh.body).get(43);
      const v = chosen ? chosen.readUInt16BE(0) : sh.body.readUInt16BE(4);
      version = VERSIONS[v] ?? `0x${v.toString(16)}`;
    }
    return { ...f, sni, version, serverRecordTypes: s.map((r) => r.type) };
  });
}
