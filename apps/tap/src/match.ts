// The match a tap request asks the proxies for, from the API's query parameters (the CLI's flags): `--to`
// and `--to-namespace` as destination labels, `--method`, `--path` (prefix), `--authority` (exact) and `--scheme`.
import type { tap } from '@trellis/proto';
import { TapApiError } from './errors.ts';
import { RESOURCES, parseTarget } from './resources.ts';

export interface TapQuery {
  readonly to?: string | undefined;
  readonly toNamespace?: string | undefined;
  readonly method?: string | undefined;
  readonly path?: string | undefined;
  readonly authority?: string | undefined;
  readonly scheme?: string | undefined;
}

type M = tap.ObserveRequest_Match;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'HEAD', 'TRACE'];
const label = (key: string, value: string): M => ({ match: { $case: 'destinationLabel', value: { key, value } } });
const http = (m: tap.ObserveRequest_Match_Http['match']): M => ({ match: { $case: 'http', value: { match: m } } });

/** The match tree: every condition given must hold (no condition: every request). */
export function buildMatch(q: TapQuery, namespace: string): M {
  const all: M[] = [];
  if (q.to) {
    const t = parseTarget(q.to, q.toNamespace || namespace);
    all.push(label('namespace', t.namespace));
    const l = RESOURCES[t.resource]?.label;
    if (t.name && l && l !== 'namespace') all.push(label(l, t.name));
  } else if (q.toNamespace) {
    all.push(label('namespace', q.toNamespace));
  }
  if (q.method) {
    const m = q.method.toUpperCase();
    if (!/^[A-Z]+$/.test(m)) throw new TapApiError(400, 'BadRequest', `invalid method "${q.method}"`);
    const i = METHODS.indexOf(m);
    all.push(http({ $case: 'method', value: { type: i >= 0 ? { $case: 'registered', value: i as 0 } : { $case: 'unregistered', value: m } } }));
  }
  if (q.path) {
    if (!q.path.startsWith('/')) throw new TapApiError(400, 'BadRequest', `invalid path "${q.path}": must start with /`);
    all.push(http({ $case: 'path', value: { match: { $case: 'prefix', value: q.path } } }));
  }
  if (q.authority) all.push(http({ $case: 'authority', value: { match: { $case: 'exact', value: q.authority } } }));
  if (q.scheme) {
    const s = q.scheme.toLowerCase();
    all.push(http({ $case: 'scheme', value: { type: s === 'http' ? { $case: 'registered', value: 0 } : s === 'https' ? { $case: 'registered', value: 1 } : { $case: 'unregistered', value: s } } }));
  }
  return { match: { $case: 'all', value: { matches: all } } };
}
