import { once } from 'node:events';
import { connect, createServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { keepAlive } from './h2.ts';

const server = createServer();
afterAll(() => server.close());

describe('keepAlive', () => {
  it('pings the client every interval and keeps the session while it answers', async () => {
    const sessions: Http2Session[] = [];
    server.on('session', (s: Http2Session) => {
      sessions.push(s);
      keepAlive(s, 30, 1000);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    let pings = 0;
    client.on('ping', () => pings++);
    await expect.poll(() => pings, { timeout: 3000 }).toBeGreaterThanOrEqual(2);
    expect(sessions[0]?.destroyed).toBe(false);
    client.close();
  });
});
