// Fails loudly, naming the internal, when the running Node no longer has what the proxy uses of its internals.
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { get, Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { clientVerifyError, handshakeDone, httpParser, parserProblems, responseStarted } from './node-internals.ts';

describe('Node internals the proxy uses', () => {
  it(`are all in this Node (${process.version}): _http_common's HTTPParser, its callbacks and llhttp's method table`, () => {
    expect(parserProblems(createRequire(import.meta.url)('_http_common'))).toEqual([]);
    expect(httpParser).toBeDefined();
  });

  it('parse a request with the parser as the lean server drives it', () => {
    const { HTTPParser, methods } = httpParser as NonNullable<typeof httpParser>;
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, 16 * 1024, 0);
    const seen: string[] = [];
    p[HTTPParser.kOnHeadersComplete] = (major: number, minor: number, headers: string[], method: number, url: string) => {
      seen.push(`${methods[method]} ${url} HTTP/${major}.${minor} ${headers.join('|')}`);
      return 0;
    };
    p[HTTPParser.kOnBody] = (chunk: Buffer) => seen.push(`body ${chunk.toString()}`);
    p[HTTPParser.kOnMessageComplete] = () => seen.push('complete');
    const wire = Buffer.from('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi');
    expect(p.execute(wire)).toBe(wire.length);
    p.close();
    expect(seen).toEqual(['POST /x HTTP/1.1 Host|a|Content-Length|2', 'body hi', 'complete']);
  });

  it('keep httpAllowHalfOpen an own property of node:http servers (set to let half-closed clients get their answer)', () => {
    expect(Object.hasOwn(new Server(), 'httpAllowHalfOpen')).toBe(true);
  });

  it("keep a server socket's _httpMessage, whose headersSent says a response has begun (no error page may follow it)", async () => {
    const seen: boolean[] = [];
    const server = new Server((req, res) => {
      seen.push(responseStarted(req.socket));
      res.flushHeaders();
      seen.push(responseStarted(req.socket));
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await new Promise<{ statusCode?: number }>((resolve, reject) => get({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', agent: false }, resolve).on('error', reject));
      expect(res.statusCode).toBe(200);
      expect(seen).toEqual([false, true]);
    } finally {
      server.close();
    }
  });

  it("keep a standalone server TLSSocket's native handle with verifyError() and its own secureConnecting flag", () => {
    const tls = new TLSSocket(new Socket(), { isServer: true, secureContext: createSecureContext() });
    try {
      expect(typeof (tls as unknown as { _handle?: { verifyError?: unknown } })._handle?.verifyError).toBe('function');
      expect([Object.hasOwn(tls, 'secureConnecting'), (tls as unknown as { secureConnecting: boolean }).secureConnecting]).toEqual([true, true]);
      handshakeDone(tls);
      expect((tls as unknown as { secureConnecting: boolean }).secureConnecting).toBe(false);
    } finally {
      tls.destroy();
    }
    // Without the handle nothing vouches for a client certificate: it is refused.
    expect(clientVerifyError({} as TLSSocket)).toBe('client certificate could not be verified');
  });

  it('name what is missing from a changed _http_common', () => {
    class Parser {
      initialize(): number {
        return 0;
      }
      execute(): number {
        return 0;
      }
    }
    expect(parserProblems({ HTTPParser: Object.assign(Parser, { REQUEST: 1, RESPONSE: 2 }), methods: ['DELETE', 'GET'] })).toEqual([
      'HTTPParser.kOnMessageBegin is not a number',
      'HTTPParser.kOnHeaders is not a number',
      'HTTPParser.kOnHeadersComplete is not a number',
      'HTTPParser.kOnBody is not a number',
      'HTTPParser.kOnMessageComplete is not a number',
      'HTTPParser.prototype.finish is not a function',
      'HTTPParser.prototype.close is not a function',
    ]);
    expect(parserProblems({})).toEqual(['_http_common.HTTPParser is not a constructor']);
  });
});
