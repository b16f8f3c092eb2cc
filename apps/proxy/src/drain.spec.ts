import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Drain } from './drain.ts';

async function acceptedPair(): Promise<{ server: ReturnType<typeof createServer>; client: Socket; accepted: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [Socket];
  return { server, client, accepted };
}

describe('Drain', () => {
  it('stops the listeners, tells the parts, and resolves true when the last connection closes', async () => {
    const { server, client, accepted } = await acceptedPair();
    const drain = new Drain();
    let told = 0;
    drain.addListener(server);
    drain.add({ drain: () => void told++ });
    drain.track(accepted);
    const done = drain.start(10_000);
    expect(drain.isDraining).toBe(true);
    expect(told).toBe(1);
    expect(server.listening).toBe(false);
    client.end();
    accepted.end();
    expect(await done).toBe(true);
  });

  it('gives up after the grace period when a connection stays open', async () => {
    const { client, accepted } = await acceptedPair();
    const drain = new Drain();
    drain.track(accepted);
    expect(await drain.start(50)).toBe(false);
    client.destroy();
    accepted.destroy();
  });
});
