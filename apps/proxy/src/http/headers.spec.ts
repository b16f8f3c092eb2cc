import { describe, expect, it } from 'vitest';
import { filterHopByHop, rawHeader, responseHead } from './headers.ts';

describe('filterHopByHop', () => {
  const raw = ['Host', 'a', 'Connection', 'keep-alive, X-Trace', 'Keep-Alive', 'timeout=5', 'X-Trace', '1', 'Proxy-Connection', 'x', 'Transfer-Encoding', 'chunked', 'X-Keep', 'yes'];

  it('drops Connection, the headers it lists, keep-alive and proxy-connection, keeping order and case', () => {
    expect(filterHopByHop(raw)).toEqual(['Host', 'a', 'X-Keep', 'yes']);
  });

  it('keeps transfer-encoding when asked, so the body is framed the same way', () => {
    expect(filterHopByHop(raw, { keepTransferEncoding: true })).toEqual(['Host', 'a', 'Transfer-Encoding', 'chunked', 'X-Keep', 'yes']);
  });

  it('keeps Connection and Upgrade on upgrades', () => {
    expect(filterHopByHop(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'], { upgrade: true })).toEqual([
      'Connection',
      'Upgrade',
      'Upgrade',
      'websocket',
      'Sec-WebSocket-Key',
      'k',
    ]);
  });

  it('drops Upgrade on plain requests (h2c is refused this way)', () => {
    expect(filterHopByHop(['Connection', 'Upgrade, HTTP2-Settings', 'Upgrade', 'h2c', 'HTTP2-Settings', 'AAA', 'A', 'b'])).toEqual(['A', 'b']);
  });

  it('keeps "te: trailers", which gRPC over HTTP/1 gateways rely on, and drops other te values', () => {
    expect(filterHopByHop(['TE', 'trailers'])).toEqual(['TE', 'trailers']);
    expect(filterHopByHop(['TE', 'gzip'])).toEqual([]);
  });

  it('drops content-length for successful CONNECT responses and named extras', () => {
    expect(filterHopByHop(['Content-Length', '0', 'l5d-proxy-error', 'x', 'A', 'b'], { dropContentLength: true, drop: new Set(['l5d-proxy-error']) })).toEqual(['A', 'b']);
  });
});

describe('rawHeader and responseHead', () => {
  it('finds a header case-insensitively', () => expect(rawHeader(['Content-Type', 'application/grpc'], 'content-type')).toBe('application/grpc'));
  it('writes a status line and headers', () => expect(responseHead(101, 'Switching Protocols', ['Upgrade', 'websocket'])).toBe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'));
});
