// mTLS between two proxies' TLS layers over loopback: detection, termination, verification, rotation and the
// opaque-transport header, with certificates from a test PKI (short lifetimes where expiry matters).
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credentials } from '../src/identity/credentials.ts';
import { detectTls, type TlsDetection } from '../src/tls/detect.ts';
import { TlsHandshakeError, TlsIdentityMismatchError, TransportHeaderError } from '../src/tls/errors.ts';
import { MeshTls, type TerminatedTls } from '../src/tls/mesh-tls.ts';
import { connectOpaqueTransport, headerFor, readDirectHeader, TRANSPORT_HEADER_ALPN } from '../src/tls/transport.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';

const CLIENT_ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const SERVER_ID = 'emoji.emojivoto.serviceaccount.identity.trellis.cluster.local';

class Source {
  creds: Credentials | undefined;
  current() {
    return this.creds;
  }
}

interface Seen {
  detection: TlsDetection;
  terminated?: TerminatedTls;
  error?: Error;
  header?: unknown;
}

let pki: MeshPki;
let foreign: MeshPki;
const serverSource = new Source();
const clientSource = new Source();
const serverTls = new MeshTls(serverSource);
const clientTls = new MeshTls(clientSource);
let server: Server;
let port: number;
let direct = false;
const seen: Seen[] = [];
const waiters: ((s: Seen) => void)[] = [];

function record(s: Seen) {
  seen.push(s);
  waiters.shift()?.(s);
}
const nextSeen = () => new Promise<Seen>((resolve) => waiters.push(resolve));

async function handle(socket: Socket) {
  socket.on('error', () => undefined);
  const detection = await detectTls(socket, serverTls.localName, 2_000);
  if (detection.kind !== 'terminate') {
    // Echo what is still unread: it proves detection consumed nothing.
    socket.once('data', (d) => {
      socket.end(d);
    });
    socket.resume();
    record({ detection });
    return;
  }
  try {
    const terminated = await serverTls.terminate(socket, direct ? { alpn: [TRANSPORT_HEADER_ALPN] } : {});
    const header = direct ? await readDirectHeader(terminated, 2_000).catch((e: Error) => e) : undefined;
    if (header instanceof Error) {
      terminated.socket.destroy();
      record({ detection, terminated, error: header });
      return;
    }
    terminated.socket.once('data', (d) => terminated.socket.end(`${terminated.clientId}|${terminated.socket.getProtocol()}|${d.toString()}`));
    // readDirectHeader leaves the socket paused for the next stack.
    terminated.socket.resume();
    record({ detection, terminated, header });
  } catch (err) {
    record({ detection, error: err as Error });
  }
}

beforeAll(async () => {
  pki = await createMeshPki();
  foreign = await createMeshPki('foreign.test');
  serverSource.creds = await pki.issue(SERVER_ID);
  clientSource.creds = await pki.issue(CLIENT_ID);
  server = createServer((s) => void handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

const peer = (serverId = SERVER_ID) => ({ addr: `127.0.0.1:${port}`, host: '127.0.0.1', port, serverId });
const readAll = (s: Socket) =>
  new Promise<string>((resolve) => {
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });

describe('mTLS between proxies', () => {
  it('terminates TLS 1.3 when the SNI is our identity and learns the verified client identity', async () => {
    const s = nextSeen();
    const tls = await clientTls.connect(peer());
    expect(tls.getProtocol()).toBe('TLSv1.3');
    tls.write('hello');
    expect(await readAll(tls)).toBe(`${CLIENT_ID}|TLSv1.3|hello`);
    expect((await s).detection).toMatchObject({ kind: 'terminate', sni: SERVER_ID });
  });

  it('fails with a typed 502 error when the peer presents another identity', async () => {
    const s = nextSeen();
    // The SNI reaches the peer (which terminates), but discovery said the peer should be someone else.
    const err = await clientTls.connect({ ...peer('someone-else.emojivoto.serviceaccount.identity.trellis.cluster.local'), serverName: SERVER_ID }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsIdentityMismatchError);
    expect((err as TlsIdentityMismatchError).httpStatus).toBe(502);
    expect((err as TlsIdentityMismatchError).code).toBe('TRELLIS_ERR_TLS_ID_MISMATCH');
    expect((err as TlsIdentityMismatchError).found).toEqual([SERVER_ID]);
    await s;
  });

  it('refuses a server whose certificate comes from a foreign trust anchor', async () => {
    const rogue = new Source();
    rogue.creds = await foreign.issue(SERVER_ID);
    const rogueServer = new MeshTls(rogue);
    const srv = createServer((sock) => void rogueServer.terminate(sock).catch(() => undefined));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const p = (srv.address() as AddressInfo).port;
    const err = await clientTls.connect({ addr: `127.0.0.1:${p}`, host: '127.0.0.1', port: p, serverId: SERVER_ID }).catch((e: unknown) => e);
    srv.close();
    expect(err).toBeInstanceOf(TlsHandshakeError);
    expect((err as TlsHandshakeError).httpStatus).toBe(502);
  });

  it('refuses a client whose certificate comes from a foreign trust anchor', async () => {
    const s = nextSeen();
    const rogue = new Source();
    const issued = await foreign.issue(CLIENT_ID);
    // It trusts our anchors (so it accepts the server) but presents a certificate from another one.
    rogue.creds = { ...issued, tls: { ...issued.tls, ca: pki.trustAnchorsPem } };
    const tls = await new MeshTls(rogue).connect(peer()).catch((e: unknown) => e);
    const result = await s;
    expect(result.error).toBeInstanceOf(TlsHandshakeError);
    expect(result.error?.message).toMatch(/client certificate refused/);
    if (tls instanceof TLSSocket) tls.destroy();
  });

  it('refuses a client whose certificate has expired', async () => {
    const s = nextSeen();
    const expired = new Source();
    expired.creds = await pki.issue(CLIENT_ID, { lifetimeMs: 60_000, now: new Date(Date.now() - 3_600_000) });
    const tls = await new MeshTls(expired).connect(peer()).catch((e: unknown) => e);
    const result = await s;
    expect(result.error?.message).toMatch(/client certificate refused: CERT_HAS_EXPIRED/);
    if (tls instanceof TLSSocket) tls.destroy();
  });

  it('passes other TLS through untouched', async () => {
    const s = nextSeen();
    const app = tlsConnect({ host: '127.0.0.1', port, servername: 'api.example.com', rejectUnauthorized: false });
    app.on('error', () => undefined);
    const result = await s;
    expect(result.detection).toEqual({ kind: 'passthrough', sni: 'api.example.com' });
    app.destroy();
  });

  it('treats a connection without a ClientHello as plaintext and leaves its bytes unread', async () => {
    const s = nextSeen();
    const c = netConnect({ host: '127.0.0.1', port });
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const echoed = readAll(c);
    expect((await s).detection).toEqual({ kind: 'plaintext' });
    expect(await echoed).toBe('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });

  it('uses a renewed certificate for new connections', async () => {
    const before = serverSource.creds as Credentials;
    const first = await clientTls.connect(peer());
    const serial1 = first.getPeerCertificate().serialNumber;
    serverSource.creds = await pki.issue(SERVER_ID);
    expect(serverSource.creds.generation).not.toBe(before.generation);
    const second = await clientTls.connect(peer());
    const serial2 = second.getPeerCertificate().serialNumber;
    expect(serial2).not.toBe(serial1);
    // The first connection still works on the old certificate.
    first.write('still');
    expect(await readAll(first)).toContain('still');
    second.destroy();
  });

  it('carries the transport header to the direct port and then the application bytes', async () => {
    direct = true;
    try {
      const s = nextSeen();
      const tls = await connectOpaqueTransport(clientTls, peer(), headerFor(5432, { session: 'http1' }));
      expect(tls.alpnProtocol).toBe(TRANSPORT_HEADER_ALPN);
      tls.write('payload');
      expect(await readAll(tls)).toBe(`${CLIENT_ID}|TLSv1.3|payload`);
      expect((await s).header).toMatchObject({ port: 5432, sessionProtocol: { kind: { $case: 'http1' } } });
    } finally {
      direct = false;
    }
  });

  it('refuses a direct connection that did not negotiate the transport ALPN', async () => {
    direct = true;
    try {
      const s = nextSeen();
      const tls = await clientTls.connect(peer());
      const result = await s;
      expect(result.error).toBeInstanceOf(TransportHeaderError);
      expect((result.error as TransportHeaderError).code).toBe('TRELLIS_ERR_TRANSPORT_HEADER_REQUIRED');
      tls.destroy();
    } finally {
      direct = false;
    }
  });
});
