import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parseClientHello } from './client-hello.ts';

/** The first bytes a real node:tls client sends, captured by a plain TCP server. */
async function realClientHello(opts: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  const server = createServer();
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) => {
      s.once('data', (d) => {
        resolve(d);
        s.destroy();
      });
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const c = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ...opts });
  c.on('error', () => undefined);
  const bytes = await got;
  c.destroy();
  server.close();
  return bytes;
}

/** Re-frames a record's handshake payload into records of at most `size` bytes each. */
function fragment(hello: Buffer, size: number): Buffer {
  const payload = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let i = 0; i < payload.length; i += size) {
    const p = payload.subarray(i, i + size);
    const h = Buffer.from([22, 3, 1, 0, 0]);
    h.writeUInt16BE(p.length, 3);
    out.push(h, p);
  }
  return Buffer.concat(out);
}

describe('parseClientHello', () => {
  it('reads the SNI and ALPN of a real node:tls ClientHello', async () => {
    const hello = await realClientHello({ servername: 'web.ns.serviceaccount.identity.trellis.cluster.local', ALPNProtocols: ['transport.l5d.io/v1'] });
    expect(parseClientHello(hello)).toEqual({ kind: 'hello', sni: 'web.ns.serviceaccount.identity.trellis.cluster.local', alpn: ['transport.l5d.io/v1'] });
  });
  it('reports no SNI when the client sends none', async () => {
    const hello = await realClientHello({});
    expect(parseClientHello(hello)).toMatchObject({ kind: 'hello', sni: undefined, alpn: [] });
  });
  it('asks for more bytes at every cut of a real ClientHello', async () => {
    const hello = await realClientHello({ servername: 'a.b.c' });
    for (let cut = 0; cut < hello.length; cut++) expect(parseClientHello(hello.subarray(0, cut)).kind).toBe('incomplete');
    expect(parseClientHello(hello)).toMatchObject({ sni: 'a.b.c' });
  });
  it('joins a ClientHello spread over several records', async () => {
    const hello = await realClientHello({ servername: 'spread.example' });
    const split = fragment(hello, 40);
    expect(split.length).toBeGreaterThan(hello.length);
    expect(parseClientHello(split)).toMatchObject({ kind: 'hello', sni: 'spread.example' });
  });
  it('says plaintext protocols are not TLS', () => {
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).kind).toBe('not-tls');
    expect(parseClientHello(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).kind).toBe('not-tls');
    expect(parseClientHello(Buffer.from([22, 9, 9, 0, 5, 1])).kind).toBe('not-tls');
  });
  it('says a handshake record that is not a ClientHello is not one', () => {
    expect(parseClientHello(Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0])).kind).toBe('not-tls');
  });
  it('never throws on truncated or corrupt extensions', async () => {
    const hello = await realClientHello({ servername: 'x.y' });
    for (let i = 9; i < hello.length; i += 7) {
      const bad = Buffer.from(hello);
      bad[i] = (bad[i] as number) ^ 0xff;
      expect(['hello', 'not-tls', 'incomplete']).toContain(parseClientHello(bad).kind);
    }
  });
});
