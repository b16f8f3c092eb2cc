import { describe, expect, it } from 'vitest';
import type { RequestHead } from '../http/exchange.ts';
import { requestFacts } from './match.ts';
import { redirectLocation } from './inbound-http.ts';
import type { RedirectSpec } from './inbound-server.ts';

function head(target: string, host?: string): RequestHead {
  const headers = host === undefined ? {} : { host };
  return { method: 'GET', target, headers, connection: undefined, addHeader: () => undefined, setHeader: () => undefined, removeHeader: () => undefined };
}

const spec = (o: Partial<RedirectSpec>): RedirectSpec => ({ scheme: undefined, host: undefined, port: undefined, path: undefined, status: 301, ...o });
const loc = (r: RedirectSpec, target: string, host: string | undefined, prefixes: string[] = []) => {
  const h = head(target, host);
  return redirectLocation(r, h, requestFacts('GET', target, h.headers), prefixes);
};

describe('redirectLocation', () => {
  it('keeps what the redirect does not replace: scheme http, the authority, the path and the query', () => {
    expect(loc(spec({ host: 'new.example' }), '/a?b=1', 'old.example:8080')).toBe('http://new.example:8080/a?b=1');
    expect(loc(spec({ port: 9090 }), '/a', 'old.example:8080')).toBe('http://old.example:9090/a');
    expect(loc(spec({ scheme: 'https', path: { full: '/x' } }), '/a?q', 'old.example')).toBe('https://old.example/x?q');
  });

  it('replaces the matched prefix element by element', () => {
    expect(loc(spec({ path: { prefix: '/new' } }), '/old/page', 'h', ['/old'])).toBe('http://h/new/page');
    expect(loc(spec({ path: { prefix: '/new/' } }), '/old/page', 'h', ['/old'])).toBe('http://h/new/page');
    expect(loc(spec({ path: { prefix: '/' } }), '/old/page', 'h', ['/old'])).toBe('http://h/page');
    expect(loc(spec({ path: { prefix: '/new' } }), '/old', 'h', ['/old'])).toBe('http://h/new');
  });

  it('cannot redirect without an authority, or a prefix replacement without a prefix match', () => {
    expect(loc(spec({ path: { full: '/x' } }), '/a', undefined)).toBeInstanceOf(Error);
    expect(loc(spec({ path: { prefix: '/new' } }), '/a', 'h', [])).toBeInstanceOf(Error);
  });
});
