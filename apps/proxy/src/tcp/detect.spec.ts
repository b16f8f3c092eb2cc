import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { classify, detect } from './detect.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('classify', () => {
  it.each([
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'http2'],
    ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'http1'],
    ['POST /upload?x=1 HTTP/1.0\r\n', 'http1'],
    ['CONNECT db:5432 HTTP/1.1\r\n', 'http1'],
    ['GET /a-very-long-path-that-the-read-cut', 'http1'],
    ['GET / HTTP/1.1', 'http1'],
    ['GET / HTT', 'opaque'], // fewer than 14 bytes
    ['GET / HTTP/2.0\r\n\r\n', 'opaque'],
    ['GET  / HTTP/1.1\r\n', 'opaque'],
    ['G\u00e9T / HTTP/1.1\r\n\r\n', 'opaque'],
    ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdef', 'opaque'],
    ['SSH-2.0-OpenSSH_9.6\r\n', 'opaque'],
    ['GET / HTTP/1.1x\r\n', 'opaque'],
  ])('classifies %j as %s', (input, expected) => expect(classify(b(input))).toBe(expected));

  it('looks at no more than the first 1 KiB', () => {
    expect(classify(b(`GET /${'a'.repeat(2000)} HTTP/1.1\r\n`))).toBe('http1');
    expect(classify(b(`GET /${'a'.repeat(1018)} X`))).toBe('http1');
  });
});

describe('detect', () => {
  const sockets: Socket[] = [];
  afterEach(() => sockets.splice(0).forEach((s) => s.destroy()));

  async function pair(): Promise<[client: Socket, accepted: Socket]> {
    const server = createServer({ allowHalfOpen: true });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const client = connect(port, '127.0.0.1');
    const [accepted] = (await once(server, 'connection')) as [Socket];
    server.close();
    sockets.push(client, accepted);
    return [client, accepted];
  }

  it('classifies the first chunk and leaves it readable for the next reader', async () => {
    const [client, accepted] = await pair();
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await detect(accepted, 1000)).toBe('http1');
    accepted.resume();
    const [chunk] = (await once(accepted, 'data')) as [Buffer];
    expect(chunk.toString()).toMatch(/^GET \/ HTTP\/1\.1/);
  });

  it('reports a timeout when the client stays silent', async () => {
    const [, accepted] = await pair();
    expect(await detect(accepted, 50)).toBe('timeout');
  });

  it('reports a client that closes before sending anything', async () => {
    const [client, accepted] = await pair();
    client.end();
    expect(await detect(accepted, 1000)).toBe('closed');
  });
});
