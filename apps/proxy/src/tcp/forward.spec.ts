import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardOpaque } from './forward.ts';

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function listen(onConn: (s: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, onConn);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A proxy that forwards every connection to `to` with forwardOpaque. */
async function proxyTo(to: number, errors: Error[] = []): Promise<number> {
  return listen((client) => {
    client.pause();
    forwardOpaque(client, connect({ port: to, host: '127.0.0.1', allowHalfOpen: true }), (e) => errors.push(e));
  });
}

describe('forwardOpaque', () => {
  it('carries bytes both ways and keeps reading after the client half-closes', async () => {
    const upstream = await listen((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`got ${Buffer.concat(chunks).length} bytes`));
    });
    const port = await proxyTo(upstream);
    const c = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    c.end(Buffer.alloc(100_000, 1));
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    await once(c, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('got 100000 bytes');
  });

  it('lets the server speak first', async () => {
    const upstream = await listen((s) => s.end('220 smtp ready\r\n'));
    const port = await proxyTo(upstream);
    const c = connect({ port, host: '127.0.0.1' });
    const [greeting] = (await once(c, 'data')) as [Buffer];
    expect(greeting.toString()).toBe('220 smtp ready\r\n');
    c.destroy();
  });

  it('resets the client when the target refuses, and reports the error', async () => {
    const closed = await listen(() => undefined);
    const gone = servers.pop() as Server;
    await new Promise((r) => gone.close(r));
    const errors: Error[] = [];
    const port = await proxyTo(closed, errors);
    const c = connect({ port, host: '127.0.0.1' });
    const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNRESET');
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
