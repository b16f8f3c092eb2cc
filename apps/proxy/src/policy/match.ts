// Route matching for policy routes (docs/reference/linkerd-contracts.md §1.7, §1.8), shared by inbound and outbound. A route applies when
// one of its hosts matches (none listed: any host); a rule applies when one of its matches does (none listed:
// everything). Among all applicable rules the most specific wins, as the Gateway API orders them: a better host
// match, then exact path over regex over prefix (longer first), then a method, then more header and query
// matches; ties go to the earlier route, which the controller lists oldest first. Regexes match the whole value.
import { httpTypes, type grpcRoute, type httpRoute } from '@trellis/proto';

export interface RequestFacts {
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** The raw query string without '?', or ''. */
  readonly query: string;
  /** The host without a port, lower case. */
  readonly host: string;
  /** All values of a header (lower-case name). */
  header(name: string): readonly string[];
}

/** A comparable specificity: compare element by element, larger is more specific. */
export type Score = readonly number[];

export function compareScores(a: Score, b: Score): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Returns the match's score, or undefined when it does not match. */
export type Matcher = (req: RequestFacts) => Score | undefined;

export class InvalidMatchError extends Error {}

function fullRegex(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`, 'u');
  } catch (err) {
    throw new InvalidMatchError(`invalid regex ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}

const METHOD_NAMES = new Map<number, string>(
  Object.entries(httpTypes.HttpMethod_Registered)
    .filter(([name, n]) => name !== 'UNRECOGNIZED' && typeof n === 'number')
    .map(([name, n]) => [n, name]),
);

export function methodName(m: httpTypes.HttpMethod | undefined): string | undefined {
  if (!m?.type) return undefined;
  if (m.type.$case === 'unregistered') return m.type.value.toUpperCase();
  const name = METHOD_NAMES.get(m.type.value);
  if (name === undefined) throw new InvalidMatchError(`unknown HTTP method ${m.type.value}`);
  return name;
}

// Path kinds ranked: exact 3, regex 2, prefix 1; then the length of the value. No path is the Gateway API's
// default, the prefix "/", so a header-only match outranks a bare "/" by its headers.
function pathMatcher(p: httpRoute.PathMatch | undefined): { test: (path: string) => boolean; score: [number, number] } {
  const k = p?.kind;
  if (!k) return { test: () => true, score: [1, 1] };
  switch (k.$case) {
    case 'exact':
      return { test: (path) => path === k.value, score: [3, k.value.length] };
    case 'regex': {
      const re = fullRegex(k.value);
      return { test: (path) => re.test(path), score: [2, k.value.length] };
    }
    case 'prefix': {
      // Element-wise: "/foo" matches "/foo" and "/foo/bar", not "/foobar".
      const prefix = k.value.length > 1 ? k.value.replace(/\/+$/, '') : k.value;
      const test = prefix === '/' || prefix === '' ? () => true : (path: string) => path === prefix || path.startsWith(`${prefix}/`);
      return { test, score: [1, prefix.length] };
    }
  }
}

function valueTest(v: { $case: 'exact'; value: string } | { $case: 'regex'; value: string } | undefined, what: string): (x: string) => boolean {
  if (!v) throw new InvalidMatchError(`${what} has no value to match`);
  if (v.$case === 'exact') return (x) => x === v.value;
  const re = fullRegex(v.value);
  return (x) => re.test(x);
}

function headerTests(headers: readonly httpRoute.HeaderMatch[]): ((req: RequestFacts) => boolean)[] {
  return headers.map((h) => {
    const name = h.name.toLowerCase();
    if (!name) throw new InvalidMatchError('header match without a name');
    const v = h.value;
    const test = valueTest(v?.$case === 'exact' ? { $case: 'exact', value: Buffer.from(v.value).toString('latin1') } : v, `header ${name}`);
    return (req) => req.header(name).some(test);
  });
}

function queryValues(query: string, name: string): string[] {
  if (!query) return [];
  return new URLSearchParams(query).getAll(name);
}

/** Compiles one HttpRouteMatch; throws InvalidMatchError for a match no request could be tested against. */
export function httpMatcher(m: httpRoute.HttpRouteMatch): Matcher {
  const path = pathMatcher(m.path);
  const method = methodName(m.method);
  const headers = headerTests(m.headers);
  const params = m.queryParams.map((q) => {
    if (!q.name) throw new InvalidMatchError('query parameter match without a name');
    const test = valueTest(q.value, `query parameter ${q.name}`);
    return (req: RequestFacts) => queryValues(req.query, q.name).some(test);
  });
  const score: Score = [...path.score, method ? 1 : 0, headers.length, params.length];
  return (req) => {
    if (!path.test(req.path)) return undefined;
    if (method !== undefined && req.method !== method) return undefined;
    for (const h of headers) if (!h(req)) return undefined;
    for (const q of params) if (!q(req)) return undefined;
    return score;
  };
}

/** Compiles one GrpcRouteMatch against the request path /<service>/<method>. */
export function grpcMatcher(m: grpcRoute.GrpcRouteMatch): Matcher {
  const service = m.rpc?.service ?? '';
  const method = m.rpc?.method ?? '';
  const headers = headerTests(m.headers);
  const score: Score = [method ? 1 : 0, service ? 1 : 0, headers.length];
  return (req) => {
    const [, svc = '', meth = '', ...rest] = req.path.split('/');
    if (rest.length > 0) return undefined;
    if (service && svc !== service) return undefined;
    if (method && meth !== method) return undefined;
    for (const h of headers) if (!h(req)) return undefined;
    return score;
  };
}

/** A host matcher for a route's hosts: exact names rank above suffixes, longer suffixes above shorter. */
export function hostMatcher(hosts: readonly httpRoute.HostMatch[]): Matcher {
  if (hosts.length === 0) return () => [0];
  const tests = hosts.map((h): Matcher => {
    const m = h.match;
    if (!m) throw new InvalidMatchError('host match without a name or suffix');
    if (m.$case === 'exact') {
      const name = m.value.toLowerCase().replace(/\.$/, '');
      return (req) => (req.host === name ? [1_000] : undefined);
    }
    const suffix = [...m.value.reverseLabels].reverse().join('.').toLowerCase();
    const labels = m.value.reverseLabels.length;
    return (req) => (req.host.endsWith(`.${suffix}`) ? [labels] : undefined);
  });
  return (req) => {
    let best: Score | undefined;
    for (const t of tests) {
      const s = t(req);
      if (s && (!best || compareScores(s, best) > 0)) best = s;
    }
    return best;
  };
}

export interface Candidate<R> {
  readonly host: Matcher;
  readonly rules: readonly { readonly matches: readonly Matcher[]; readonly rule: R }[];
}

/** The most specific rule over all routes (ties: the earlier one), or undefined when none applies. */
export function selectRule<R>(routes: readonly Candidate<R>[], req: RequestFacts): R | undefined {
  let best: { score: Score; rule: R } | undefined;
  for (const route of routes) {
    const hostScore = route.host(req);
    if (!hostScore) continue;
    for (const r of route.rules) {
      const scores = r.matches.length === 0 ? [[0] as Score] : r.matches.map((m) => m(req)).filter((s): s is Score => s !== undefined);
      for (const s of scores) {
        const score = [...hostScore, ...s];
        if (!best || compareScores(score, best.score) > 0) best = { score, rule: r.rule };
      }
    }
  }
  return best?.rule;
}

/** Request facts from Node's request shape (http.IncomingMessage or the HTTP/2 compat request). */
export function requestFacts(method: string, target: string, headers: Readonly<Record<string, string | string[] | undefined>>): RequestFacts {
  // Absolute-form (a request to a proxy): the authority in the URL is the host.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(target);
  const url = abs ? target.slice(abs[0].length) || '/' : target;
  const q = url.indexOf('?');
  const rawHost = abs ? abs[1] : (headers[':authority'] ?? headers.host);
  const host = (Array.isArray(rawHost) ? rawHost[0] : rawHost) ?? '';
  return {
    method: method.toUpperCase(),
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    host: host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase(),
    header: (name) => {
      const v = headers[name];
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    },
  };
}
