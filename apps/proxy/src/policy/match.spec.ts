import { describe, expect, it } from 'vitest';
import { httpTypes, type grpcRoute, type httpRoute } from '@trellis/proto';
import { grpcMatcher, hostMatcher, httpMatcher, InvalidMatchError, requestFacts, selectRule, type Candidate } from './match.ts';

const m = (x: Partial<httpRoute.HttpRouteMatch>): httpRoute.HttpRouteMatch => ({ path: undefined, headers: [], queryParams: [], method: undefined, ...x });
const path = (k: 'exact' | 'prefix' | 'regex', value: string): httpRoute.PathMatch => ({ kind: { $case: k, value } as httpRoute.PathMatch['kind'] });
const req = (url: string, headers: Record<string, string | string[]> = {}, method = 'GET') => requestFacts(method, url, { host: 'web.emojivoto.svc.cluster.local:80', ...headers });

function route<R>(rules: { matches: httpRoute.HttpRouteMatch[]; rule: R }[], hosts: httpRoute.HostMatch[] = []): Candidate<R> {
  return { host: hostMatcher(hosts), rules: rules.map((r) => ({ matches: r.matches.map(httpMatcher), rule: r.rule })) };
}

describe('HTTP route matching', () => {
  it('matches prefixes by path element, not by characters', () => {
    const match = httpMatcher(m({ path: path('prefix', '/api') }));
    expect(match(req('/api'))).toBeDefined();
    expect(match(req('/api/vote?x=1'))).toBeDefined();
    expect(match(req('/apiary'))).toBeUndefined();
  });

  it('anchors regexes to the whole path and ignores the query string', () => {
    const match = httpMatcher(m({ path: path('regex', '/vote/[a-z]+') }));
    expect(match(req('/vote/doughnut?x=1'))).toBeDefined();
    expect(match(req('/vote/doughnut/extra'))).toBeUndefined();
  });

  it('needs every condition of a match: method, headers and query parameters', () => {
    const match = httpMatcher(
      m({
        path: path('prefix', '/'),
        method: { type: { $case: 'registered', value: httpTypes.HttpMethod_Registered.POST } },
        headers: [{ name: 'X-Canary', value: { $case: 'exact', value: Buffer.from('yes') } }],
        queryParams: [{ name: 'v', value: { $case: 'regex', value: '[0-9]+' } }],
      }),
    );
    expect(match(req('/x?v=12', { 'x-canary': 'yes' }, 'POST'))).toBeDefined();
    expect(match(req('/x?v=12', { 'x-canary': 'yes' }, 'GET'))).toBeUndefined();
    expect(match(req('/x?v=12', { 'x-canary': 'no' }, 'POST'))).toBeUndefined();
    expect(match(req('/x?v=abc', { 'x-canary': 'yes' }, 'POST'))).toBeUndefined();
    expect(match(req('/x?v=1', { 'x-canary': ['no', 'yes'] }, 'POST'))).toBeDefined();
  });

  it('picks the most specific rule across routes: exact over regex over the longest prefix', () => {
    const routes = [
      route([{ matches: [m({ path: path('prefix', '/') })], rule: 'default' }]),
      route([{ matches: [m({ path: path('prefix', '/api') })], rule: 'api' }]),
      route([{ matches: [m({ path: path('regex', '/api/v[0-9]') })], rule: 'versioned' }, { matches: [m({ path: path('exact', '/api/v1') })], rule: 'exact' }]),
    ];
    expect(selectRule(routes, req('/'))).toBe('default');
    expect(selectRule(routes, req('/api/list'))).toBe('api');
    expect(selectRule(routes, req('/api/v2'))).toBe('versioned');
    expect(selectRule(routes, req('/api/v1'))).toBe('exact');
  });

  it('prefers a rule with a method or header match when paths tie, and the older route when all tie', () => {
    const routes = [
      route([{ matches: [m({ path: path('prefix', '/') })], rule: 'first' }]),
      route([{ matches: [m({ path: path('prefix', '/') })], rule: 'second' }]),
      route([{ matches: [m({ path: path('prefix', '/'), headers: [{ name: 'x-user', value: { $case: 'exact', value: Buffer.from('qa') } }] })], rule: 'qa' }]),
    ];
    expect(selectRule(routes, req('/'))).toBe('first');
    expect(selectRule(routes, req('/', { 'x-user': 'qa' }))).toBe('qa');
  });

  it('applies a route only to its hosts, exact names before wildcard suffixes', () => {
    const routes = [
      route([{ matches: [], rule: 'suffix' }], [{ match: { $case: 'suffix', value: { reverseLabels: ['local', 'cluster', 'svc'] } } }]),
      route([{ matches: [], rule: 'exact' }], [{ match: { $case: 'exact', value: 'web.emojivoto.svc.cluster.local' } }]),
      route([{ matches: [], rule: 'other' }], [{ match: { $case: 'exact', value: 'other.example.com' } }]),
    ];
    expect(selectRule(routes, req('/'))).toBe('exact');
    expect(selectRule(routes, req('/', { host: 'voting.emojivoto.svc.cluster.local' }))).toBe('suffix');
    expect(selectRule(routes, req('/', { host: 'example.org' }))).toBeUndefined();
  });

  it('reads the host and path of an absolute-form request', () => {
    const f = requestFacts('get', 'http://Web.Emojivoto:8080/api/list?x=1', {});
    expect([f.method, f.host, f.path, f.query]).toEqual(['GET', 'web.emojivoto', '/api/list', 'x=1']);
  });

  it('rejects an invalid regex with a message naming it', () => {
    expect(() => httpMatcher(m({ path: path('regex', '/(') }))).toThrow(InvalidMatchError);
    expect(() => httpMatcher(m({ path: path('regex', '/(') }))).toThrow(/invalid regex "\/\("/);
  });
});

describe('gRPC route matching', () => {
  const g = (service: string, method: string): grpcRoute.GrpcRouteMatch => ({ rpc: { service, method }, headers: [] });
  it('matches service and method of the request path, a method match beating a service-only one', () => {
    const routes: Candidate<string>[] = [
      { host: hostMatcher([]), rules: [{ matches: [grpcMatcher(g('emojivoto.v1.VotingService', ''))], rule: 'service' }] },
      { host: hostMatcher([]), rules: [{ matches: [grpcMatcher(g('emojivoto.v1.VotingService', 'VoteDoughnut'))], rule: 'method' }] },
    ];
    expect(selectRule(routes, req('/emojivoto.v1.VotingService/VoteDoughnut', {}, 'POST'))).toBe('method');
    expect(selectRule(routes, req('/emojivoto.v1.VotingService/VotePoop', {}, 'POST'))).toBe('service');
    expect(selectRule(routes, req('/emojivoto.v1.EmojiService/ListAll', {}, 'POST'))).toBeUndefined();
  });
});
