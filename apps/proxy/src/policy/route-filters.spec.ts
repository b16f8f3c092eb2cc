import { describe, expect, it } from 'vitest';
import { httpTypes } from '@trellis/proto';
import { InvalidMatchError } from './match.ts';
import { redirectLocation, redirectOf, type Redirect } from './route-filters.ts';

const req = { scheme: 'http', authority: 'books.default.svc.cluster.local:8080', path: '/api/v1/books?page=2' };
const redirect = (o: Partial<Redirect> = {}): Redirect => ({ scheme: undefined, host: undefined, port: undefined, path: undefined, status: 301, ...o });

describe('redirectLocation', () => {
  it('keeps what the filter leaves unset: scheme, authority, path and query', () => {
    expect(redirectLocation(redirect(), req, [])).toBe('http://books.default.svc.cluster.local:8080/api/v1/books?page=2');
    expect(redirectLocation(redirect({ host: 'new.example' }), { scheme: 'http', authority: 'old.example:8080', path: '/a?b=1' }, [])).toBe('http://new.example:8080/a?b=1');
  });

  it('replaces scheme, host and port; a new scheme takes its well-known port, which is left out of the URL', () => {
    expect(redirectLocation(redirect({ scheme: 'https', host: 'example.com' }), req, [])).toBe('https://example.com/api/v1/books?page=2');
    expect(redirectLocation(redirect({ host: 'example.com', port: 8443 }), req, [])).toBe('http://example.com:8443/api/v1/books?page=2');
    expect(redirectLocation(redirect({ port: 9090 }), req, [])).toBe('http://books.default.svc.cluster.local:9090/api/v1/books?page=2');
    expect(redirectLocation(redirect({ scheme: 'https' }), { scheme: 'http', authority: '[fd00::1]:80', path: '/' }, [])).toBe('https://[fd00::1]/');
    expect(redirectLocation(redirect({ scheme: 'https', port: 8443 }), { scheme: 'http', authority: '[fd00::1]:80', path: '/' }, [])).toBe('https://[fd00::1]:8443/');
  });

  it('replaces the full path, or the longest prefix the rule matched, element by element', () => {
    expect(redirectLocation(redirect({ path: { kind: 'full', value: '/moved' } }), req, [])).toBe('http://books.default.svc.cluster.local:8080/moved?page=2');
    expect(redirectLocation(redirect({ path: { kind: 'prefix', value: '/v2' } }), req, ['/other', '/api', '/api/v1'])).toBe('http://books.default.svc.cluster.local:8080/v2/books?page=2');
    expect(redirectLocation(redirect({ path: { kind: 'prefix', value: '/' } }), { ...req, path: '/api/v1' }, ['/api/v1'])).toBe('http://books.default.svc.cluster.local:8080/');
    const h = { scheme: 'http', authority: 'h', path: '/old/page' };
    expect(redirectLocation(redirect({ path: { kind: 'prefix', value: '/new/' } }), h, ['/old'])).toBe('http://h/new/page');
    expect(redirectLocation(redirect({ path: { kind: 'prefix', value: '/' } }), h, ['/old'])).toBe('http://h/page');
  });

  it('cannot redirect without an authority, or replace a prefix no rule matched', () => {
    expect(redirectLocation(redirect({ path: { kind: 'full', value: '/x' } }), { scheme: 'http', authority: undefined, path: '/a' }, [])).toBeInstanceOf(Error);
    expect(redirectLocation(redirect({ path: { kind: 'prefix', value: '/new' } }), { scheme: 'http', authority: 'h', path: '/a' }, [])).toBeInstanceOf(Error);
  });
});

describe('redirectOf', () => {
  const base = { scheme: undefined, host: '', path: undefined, port: 0, status: 0 };
  it('defaults the status to 301 and reads the registered scheme', () => {
    const r = redirectOf({ ...base, scheme: { type: { $case: 'registered', value: httpTypes.Scheme_Registered.HTTPS } } });
    expect(r).toEqual({ scheme: 'https', host: undefined, port: undefined, path: undefined, status: 301 });
  });
  it('refuses a status that is not 3xx and a port out of range, naming them', () => {
    expect(() => redirectOf({ ...base, status: 200 })).toThrow(InvalidMatchError);
    expect(() => redirectOf({ ...base, status: 200 })).toThrow(/redirect status 200/);
    expect(() => redirectOf({ ...base, port: 70000 })).toThrow(/redirect port 70000/);
  });
});
