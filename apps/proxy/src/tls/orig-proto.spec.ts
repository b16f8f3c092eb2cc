import { describe, expect, it } from 'vitest';
import { canUpgrade, downgradeHost, downgradeTarget, parseOrigProto, upgradeRequest } from './orig-proto.ts';

describe('l5d-orig-proto', () => {
  it('upgrades an origin-form HTTP/1.1 request keeping Host as a header, dropping connection-specific headers and those Connection names', () => {
    const rawHeaders = ['Host', 'books:80', 'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive, X-Hop', 'X-Hop', 'h', 'Keep-Alive', 'timeout=5', 'X-A', '1', 'x-a', '2'];
    const h = upgradeRequest({ method: 'POST', url: '/books?x=1', httpVersion: '1.1', rawHeaders });
    expect(h).toEqual({ ':method': 'POST', ':scheme': 'http', ':path': '/books?x=1', ':authority': 'books:80', host: 'books:80', 'x-a': ['1', '2'], 'l5d-orig-proto': 'HTTP/1.1' });
  });
  it('marks absolute-form and HTTP/1.0 byte for byte; the Host header rides as sent', () => {
    const h = upgradeRequest({ method: 'GET', url: 'http://books.default:8080/a', httpVersion: '1.0', rawHeaders: ['Host', 'other'] });
    expect(h['l5d-orig-proto']).toBe('HTTP/1.0; absolute-form');
    expect([h[':authority'], h[':path'], h.host]).toEqual(['books.default:8080', '/a', 'other']);
  });
  it('downgrades to one Host: the host header when the upgrade kept it, else :authority', () => {
    expect(downgradeHost({ ':authority': 'a:80', host: 'b:80' })).toBe('b:80');
    expect(downgradeHost({ ':authority': 'a:80', host: ['b:80', 'c:80'] })).toBe('b:80');
    expect(downgradeHost({ ':authority': 'a:80', host: '' })).toBe('a:80');
    expect(downgradeHost({ ':authority': 'a:80' })).toBe('a:80');
    expect(downgradeHost({})).toBeUndefined();
  });
  it('keeps Upgrade and CONNECT on HTTP/1', () => {
    expect(canUpgrade({ method: 'GET', url: '/', httpVersion: '1.1', rawHeaders: ['Upgrade', 'websocket', 'Connection', 'Upgrade'] })).toBe(false);
    expect(canUpgrade({ method: 'CONNECT', url: 'a:443', httpVersion: '1.1', rawHeaders: [] })).toBe(false);
    expect(canUpgrade({ method: 'GET', url: '/', httpVersion: '1.1', rawHeaders: [] })).toBe(true);
  });
  it('reads the header on the far side and restores absolute form', () => {
    expect(parseOrigProto('HTTP/1.1')).toEqual({ httpVersion: '1.1', absoluteForm: false });
    const d = parseOrigProto('HTTP/1.0; absolute-form');
    expect(d).toEqual({ httpVersion: '1.0', absoluteForm: true });
    expect(downgradeTarget(d as never, { ':scheme': 'http', ':authority': 'b:80', ':path': '/x' })).toBe('http://b:80/x');
    expect(parseOrigProto('HTTP/2')).toBeUndefined();
  });
});
