// Route filters shared by inbound and outbound policy (docs/reference/linkerd-contracts.md §1.7): header modifiers, failure-injector
// ratios and redirects, compiled once per policy version. A redirect's Location follows the Gateway API: what the
// filter leaves unset is kept from the request; without a port, a new scheme takes its well-known port and
// otherwise the request's port stays; :80 for http and :443 for https are left out; a prefix replacement
// replaces the longest prefix the rule matched, element by element.
import { httpTypes, type httpRoute } from '@trellis/proto';
import { InvalidMatchError } from './match.ts';

export interface HeaderModifier {
  readonly add: readonly (readonly [string, string])[];
  readonly set: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

export interface Redirect {
  readonly scheme: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly path: { readonly kind: 'full' | 'prefix'; readonly value: string } | undefined;
  readonly status: number;
}

function pairs(h: httpTypes.Headers | undefined): [string, string][] {
  return (h?.headers ?? []).map((x) => [x.name.toLowerCase(), Buffer.from(x.value).toString('latin1')]);
}

export function headerModifier(m: httpRoute.RequestHeaderModifier | httpRoute.ResponseHeaderModifier): HeaderModifier {
  return { add: pairs(m.add), set: pairs(m.set), remove: m.remove.map((n) => n.toLowerCase()) };
}

/** A failure injector's share of requests, [0, 1]; unset means all. */
export function ratioOf(r: httpRoute.Ratio | undefined): number {
  if (!r) return 1;
  if (r.denominator === 0) throw new InvalidMatchError('failure injector ratio has a zero denominator');
  return Math.min(1, r.numerator / r.denominator);
}

function schemeOf(s: httpTypes.Scheme | undefined): string | undefined {
  const t = s?.type;
  if (!t) return undefined;
  if (t.$case === 'unregistered') return t.value.toLowerCase();
  if (t.value === httpTypes.Scheme_Registered.HTTP) return 'http';
  if (t.value === httpTypes.Scheme_Registered.HTTPS) return 'https';
  throw new InvalidMatchError(`unknown redirect scheme ${t.value}`);
}

export function redirectOf(r: httpRoute.RequestRedirect): Redirect {
  const status = r.status === 0 ? 301 : r.status;
  if (status < 300 || status > 399) throw new InvalidMatchError(`redirect status ${r.status} is not a 3xx status`);
  if (r.port > 65535) throw new InvalidMatchError(`redirect port ${r.port} is out of range`);
  const p = r.path?.replace;
  return { scheme: schemeOf(r.scheme), host: r.host || undefined, port: r.port || undefined, path: p ? { kind: p.$case, value: p.value } : undefined, status };
}

/** The prefixes of a rule's prefix path matches (a prefix redirect replaces the one that matched). */
export function prefixesOf(matches: readonly httpRoute.HttpRouteMatch[]): string[] {
  const out: string[] = [];
  for (const m of matches) if (m.path?.kind?.$case === 'prefix') out.push(m.path.kind.value);
  return out;
}

const WELL_KNOWN: Readonly<Record<string, number>> = { http: 80, https: 443 };

function splitAuthority(a: string): { host: string; port: number | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(a);
  if (!m) return { host: a, port: undefined };
  return { host: m[1] as string, port: m[2] ? Number(m[2]) : undefined };
}

export interface RedirectRequest {
  readonly scheme: string;
  readonly authority: string | undefined;
  /** The path with its query string. */
  readonly path: string;
}

/** The Location of a redirect, or why it cannot be built (no authority to keep, no prefix to replace). */
export function redirectLocation(r: Redirect, req: RedirectRequest, prefixes: readonly string[]): string | Error {
  if (req.authority === undefined && r.host === undefined) return new Error('the request has no authority to redirect to');
  const q = req.path.indexOf('?');
  const reqPath = (q < 0 ? req.path : req.path.slice(0, q)) || '/';
  const query = q < 0 ? '' : req.path.slice(q);
  const orig = splitAuthority(req.authority ?? '');
  const scheme = r.scheme ?? req.scheme;
  const port = r.port ?? (r.scheme !== undefined ? WELL_KNOWN[r.scheme] : orig.port);
  const shownPort = port === undefined || WELL_KNOWN[scheme] === port ? '' : `:${port}`;
  let path = reqPath;
  if (r.path?.kind === 'full') path = r.path.value;
  else if (r.path?.kind === 'prefix') {
    let best: string | undefined;
    for (const p of prefixes) {
      const bare = p.length > 1 ? p.replace(/\/+$/, '') : p;
      const hit = bare === '/' || bare === '' || reqPath === bare || reqPath.startsWith(`${bare}/`);
      if (hit && (best === undefined || bare.length > best.length)) best = bare;
    }
    if (best === undefined) return new Error('a prefix redirect needs a rule matching a path prefix');
    const rest = best === '/' ? reqPath.slice(1) : reqPath.slice(best.length);
    const repl = r.path.value;
    path = rest === '' ? repl || '/' : repl.endsWith('/') ? `${repl}${rest.replace(/^\//, '')}` : `${repl}${rest.startsWith('/') ? rest : `/${rest}`}`;
  }
  return `${scheme}://${r.host ?? orig.host}${shownPort}${path}${query}`;
}
