import { describe, expect, it } from 'vitest';
import { redirectLocation } from './outbound-http.ts';
import { errorKind } from './outbound-metrics.ts';

const req = { scheme: 'http', authority: 'books.default.svc.cluster.local:8080', path: '/api/v1/books?page=2' };
const redirect = (o: Partial<Parameters<typeof redirectLocation>[0]> = {}) => ({ scheme: undefined, host: undefined, port: undefined, path: undefined, status: 301, ...o });

describe('redirectLocation', () => {
  it('keeps what the filter leaves unset, query included', () => {
    expect(redirectLocation(redirect(), req, [])).toBe('http://books.default.svc.cluster.local:8080/api/v1/books?page=2');
  });

  it('replaces scheme, host and port; a new host drops the old port', () => {
    expect(redirectLocation(redirect({ scheme: 'https', host: 'example.com' }), req, [])).toBe('https://example.com/api/v1/books?page=2');
    expect(redirectLocation(redirect({ host: 'example.com', port: 8443 }), req, [])).toBe('http://example.com:8443/api/v1/books?page=2');
    expect(redirectLocation(redirect({ port: 9090 }), req, [])).toBe('http://books.default.svc.cluster.local:9090/api/v1/books?page=2');
  });

  it('replaces the full path, or the prefix the rule matched', () => {
    expect(redirectLocation(redirect({ path: { kind: 'full', value: '/moved' } }), req, [])).toBe('http://books.default.svc.cluster.local:8080/moved?page=2');
    expect(redirectLocation(redirect({ path: { kind: 'prefix', value: '/v2' } }), req, ['/other', '/api/v1'])).toBe('http://books.default.svc.cluster.local:8080/v2/books?page=2');
    expect(redirectLocation(redirect({ path: { kind: 'prefix', value: '/' } }), { ...req, path: '/api/v1' }, ['/api/v1'])).toBe('http://books.default.svc.cluster.local:8080/');
  });

  it('keeps an IPv6 authority whole', () => {
    expect(redirectLocation(redirect({ scheme: 'https' }), { scheme: 'http', authority: '[fd00::1]:80', path: '/' }, [])).toBe('https://[fd00::1]:80/');
  });
});

describe('errorKind', () => {
  it("names Linkerd's route error kinds", () => {
    expect(['', 'failfast', 'loadshed', 'request timeout', 'response headers timeout', 'response timeout', 'idle timeout', 'i/o', 'h2(CANCEL)', 'h2(REFUSED_STREAM)', 'h2(INTERNAL_ERROR)', 'other'].map(errorKind)).toEqual([
      '',
      'FAIL_FAST',
      'LOAD_SHED',
      'REQUEST_TIMEOUT',
      'RESPONSE_HEADERS_TIMEOUT',
      'RESPONSE_STREAM_TIMEOUT',
      'IDLE_TIMEOUT',
      'IO',
      'CANCEL',
      'REFUSED',
      'RESET',
      'UNKNOWN',
    ]);
  });
});
