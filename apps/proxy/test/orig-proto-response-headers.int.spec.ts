// A downgraded request's response on its way back over HTTP/2 (docs/reference/orig-proto.md): the app's HTTP/1
// header lines become HTTP/2 response headers as node:http's IncomingMessage would merge them, hop-by-hop ones
// dropped and l5d-orig-proto echoed, whichever HTTP/1 client carried the request (the lean one for a request that
// ended with its headers, node:http's for a streamed one).
import { once } from 'node:events';
import { connect as h2Connect, type IncomingHttpHeaders } from 'node:http2';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { asPriorKnowledgeH2 } from '../src/tls/h2-prior-knowledge.ts';
import { MeshTls } from '../src/tls/mesh-tls.ts';
import { listenOn } from './harness.ts';
import { startFakeIdentity } from './mesh-fake-identity.ts';
import { startMeshedProxy } from './mesh-harness.ts';
import { createMeshPki } from './mesh-pki.ts';
import { cleanups } from './mesh-policy-harness.ts';
import { startStubDestination } from './mesh-stub-destination.ts';

const WEB = 'web.default.serviceaccount.identity.trellis.cluster.local';
const BOOKS = 'books.default.serviceaccount.identity.trellis.cluster.local';

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP/1.1 app that answers a request for /name with heads[name] (its header lines) and a 2-byte body. */
async function app(heads: Record<string, string>): Promise<number> {
  const server = createNetServer((s: Socket) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      const name = /^GET \/(\w+)/.exec(buf)?.[1] ?? '';
      buf = '';
      s.write(`HTTP/1.1 200 OK\r\n${heads[name] ?? ''}content-length: 2\r\n\r\nok`);
    });
    s.on('error', () => undefined);
  });
  const port = await listenOn(server);
  cleanups.push(() => server.close());
  return port;
}

describe('a downgraded response over HTTP/2', () => {
  it('merges repeated header lines as node:http does, drops hop-by-hop ones and echoes l5d-orig-proto', async () => {
    const pki = await createMeshPki();
    const identity = await startFakeIdentity(pki, { tls: false });
    const dst = await startStubDestination(pki, { tls: false });
    cleanups.push(() => identity.close(), () => dst.close());
    const server = await startMeshedProxy({ pki, identitySvc: identity, destination: dst, identity: BOOKS });
    cleanups.push(() => server.proxy.close());
    server.inboundTarget = {
      ip: '127.0.0.1',
      port: await app({
        single: 'x-one: 1\r\nconnection: keep-alive\r\nl5d-orig-proto: HTTP/9\r\nkeep-alive: timeout=5\r\n',
        repeated: 'set-cookie: a=1\r\nx-multi: a\r\ncontent-type: text/plain\r\nx-multi: b\r\nset-cookie: b=2\r\ncontent-type: text/html\r\n',
      }),
    };
    await expect.poll(async () => (await fetch(`${server.adminUrl}/ready`)).status, { timeout: 10_000 }).toBe(200);

    const creds = await pki.issue(WEB);
    const peer = { addr: `127.0.0.1:${server.inboundPort}`, host: '127.0.0.1', port: server.inboundPort, serverId: BOOKS };
    const session = h2Connect('http://books', { createConnection: () => asPriorKnowledgeH2(new MeshTls({ current: () => creds }).socket(peer)) });
    cleanups.push(() => session.destroy());
    const send = async (path: string, streamed: boolean) => {
      const req = session.request({ ':method': 'GET', ':path': path, ':authority': 'books:80', 'l5d-orig-proto': 'HTTP/1.1' }, { endStream: !streamed });
      if (streamed) req.end();
      const [h] = (await once(req, 'response')) as [IncomingHttpHeaders];
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      await once(req, 'end');
      const { date: _date, ...rest } = h;
      return { headers: Object.fromEntries(Object.entries(rest)), body };
    };
    for (const streamed of [false, true]) {
      expect(await send('/single', streamed)).toEqual({ headers: { ':status': 200, 'x-one': '1', 'content-length': '2', 'l5d-orig-proto': 'HTTP/1.1' }, body: 'ok' });
      expect(await send('/repeated', streamed)).toEqual({
        headers: { ':status': 200, 'set-cookie': ['a=1', 'b=2'], 'x-multi': 'a, b', 'content-type': 'text/plain', 'content-length': '2', 'l5d-orig-proto': 'HTTP/1.1' },
        body: 'ok',
      });
    }
  });
});
