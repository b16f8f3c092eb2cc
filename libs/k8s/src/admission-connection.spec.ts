import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { oneReviewPerConnection } from './admission-connection.ts';

let server: Server | undefined;
afterEach(() => server?.close());

/** Two POSTs through one keep-alive agent: the connection header of each answer, and the connections the server saw. */
async function twoCalls(close: boolean): Promise<{ headers: (string | undefined)[]; connections: number }> {
  let connections = 0;
  server = createServer((_req, res) => res.end('{}'));
  server.on('connection', () => connections++);
  if (close) oneReviewPerConnection(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const headers: (string | undefined)[] = [];
  for (let i = 0; i < 2; i++) {
    headers.push(
      await new Promise<string | undefined>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers.connection));
        });
        req.on('error', reject);
        req.end('{"kind":"AdmissionReview"}');
      }),
    );
    await new Promise((r) => setImmediate(r));
  }
  agent.destroy();
  return { headers, connections };
}

describe('oneReviewPerConnection', () => {
  it('answers each review with Connection: close, so a pooling client dials afresh for the next one', async () => {
    expect(await twoCalls(true)).toEqual({ headers: ['close', 'close'], connections: 2 });
  });

  it('leaves a server without it keeping the connection for the next call (what kube-apiserver would reuse)', async () => {
    expect(await twoCalls(false)).toEqual({ headers: ['keep-alive', 'keep-alive'], connections: 1 });
  });
});
