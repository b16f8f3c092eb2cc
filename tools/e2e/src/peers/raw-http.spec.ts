import { afterEach, describe, expect, it } from 'vitest';
import { connect, type AddressInfo, type Server } from 'node:net';
import { answer, hostLines, rawHttpServer } from './raw-http.ts';

let server: Server | undefined;
afterEach(() => server?.close());

/** Writes raw bytes to the server and resolves with everything it sent back before closing or going quiet. */
async function exchange(raw: string): Promise<string> {
  server = rawHttpServer();
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  let got = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (got += d));
  socket.write(raw);
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  return got;
}

describe('the raw HTTP/1 peer', () => {
  it('echoes the head it received when it has one Host line', async () => {
    const head = 'GET /x HTTP/1.1\r\nHost: a.example\r\nx-y: 1\r\n\r\n';
    const got = await exchange(head);
    expect(got).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(got.endsWith(head)).toBe(true);
  });

  it('answers 400 to no Host line and to two', () => {
    expect(answer('GET / HTTP/1.1\r\nx: 1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 .*got 0\n$/s);
    expect(answer('GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n')).toMatch(/got 2\n$/);
  });

  it('serves two requests on one connection and refuses methods with bodies', async () => {
    const one = 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n';
    const got = await exchange(`${one}${one.replace('/1', '/2')}POST / HTTP/1.1\r\nHost: a\r\n\r\n`);
    expect(got.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(2);
    expect(got).toContain('501 Not Implemented');
  });

  it('counts Host lines case-insensitively, not other headers that contain host', () => {
    expect(hostLines('GET / HTTP/1.1\r\nHOST: a\r\nx-forwarded-host: b\r\n\r\n')).toEqual(['HOST: a']);
  });
});
