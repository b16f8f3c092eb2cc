// Route resources as the index keeps them: HTTPRoute (policy.linkerd.io and gateway.networking.k8s.io)
// and GRPCRoute (gateway.networking.k8s.io), read once into the proxy API's match, host and filter types.
// What depends on the rest of the cluster (whether a backend Service exists, which Service or Server a
// route attaches to) is resolved per request in outbound.ts and inbound.ts.
import { parseDuration } from '@trellis/config';
import { httpTypes, type grpcRoute as gr, type httpRoute as hr } from '@trellis/proto';
import { httpMethod } from '../discovery/profile.ts';
import type { CustomObject } from '../index/model.ts';
import { keepOutboundAnnotations, parseOutboundAnnotations, type AnnotationProblem, type OutboundAnnotations } from './annotations.ts';

export const GROUP_POLICY = 'policy.linkerd.io';
export const GROUP_GATEWAY = 'gateway.networking.k8s.io';
export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

export interface ParentRef {
  /** "core" for the core group (written as "" or "core" in the object). */
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port: number | undefined;
}

export type RouteFilter =
  | { readonly type: 'requestHeaderModifier'; readonly value: hr.RequestHeaderModifier }
  | { readonly type: 'responseHeaderModifier'; readonly value: hr.ResponseHeaderModifier }
  | { readonly type: 'redirect'; readonly value: hr.RequestRedirect };

export interface BackendRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port: number | undefined;
  readonly weight: number;
  readonly filters: readonly RouteFilter[];
  /** Why the backend cannot be used (an unsupported filter); it then fails requests. */
  readonly invalid: string | undefined;
}

export interface RouteRule {
  readonly httpMatches: readonly hr.HttpRouteMatch[];
  readonly grpcMatches: readonly gr.GrpcRouteMatch[];
  readonly filters: readonly RouteFilter[];
  readonly backends: readonly BackendRef[];
  /** spec.rules[].timeouts.request of a policy.linkerd.io HTTPRoute (0 means none, as GEP-1742 says). */
  readonly requestTimeoutMs: number | undefined;
}

export interface RouteRecord {
  readonly group: string;
  readonly kind: RouteKind;
  readonly namespace: string;
  readonly name: string;
  /** metadata.creationTimestamp in ms (routes are ordered by it, then by name). */
  readonly createdMs: number | undefined;
  readonly parentRefs: readonly ParentRef[];
  readonly hosts: readonly hr.HostMatch[];
  readonly rules: readonly RouteRule[];
  readonly annotations: OutboundAnnotations;
  /** Set when the route cannot be served at all (it is then ignored, as Linkerd does). */
  readonly error: string | undefined;
  /** Parts that were left out (unsupported filters on a gRPC route). */
  readonly problems: readonly AnnotationProblem[];
}

export const routeKey = (r: { group: string; kind: string; namespace: string; name: string }) => `${r.group}/${r.kind}/${r.namespace}/${r.name}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);

/** The core group is "" in Kubernetes objects and "core" in Linkerd's metadata. */
export const normalGroup = (g: string | undefined): string => (g === undefined || g === '' ? 'core' : g);

export function isServiceRef(r: { group: string; kind: string }): boolean {
  return r.group.toLowerCase() === 'core' && r.kind.toLowerCase() === 'service';
}

export function isServerRef(r: { group: string; kind: string }): boolean {
  return r.group.toLowerCase() === GROUP_POLICY && r.kind.toLowerCase() === 'server';
}

function checkRegex(re: string, where: string): string {
  try {
    new RegExp(re);
  } catch {
    throw new Error(`${where}: ${JSON.stringify(re)} is not a valid regular expression`);
  }
  return re;
}

/** `*.example.com` ⇒ suffix ["com", "example"]; anything else is exact. */
export function hostMatch(h: string): hr.HostMatch {
  if (h.startsWith('*.')) return { match: { $case: 'suffix', value: { reverseLabels: h.slice(2).split('.').reverse() } } };
  return { match: { $case: 'exact', value: h } };
}

// RFC 9110 field names are tokens; a value may not hold CR, LF or NUL. Node refuses to send anything else, so a
// route that names such a header could never do what it says.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerName(v: unknown, where: string): string {
  const name = str(v) ?? '';
  if (!HEADER_NAME.test(name)) throw new Error(`${where}: ${JSON.stringify(name)} is not an HTTP header name`);
  return name;
}

function headerValue(v: unknown, where: string): string {
  const value = str(v) ?? '';
  if (/[\r\n\0]/.test(value)) throw new Error(`${where}: the value may not contain CR, LF or NUL`);
  return value;
}

export function headerMatch(m: unknown, where: string): hr.HeaderMatch {
  const o = isObj(m) ? m : {};
  const name = headerName(o['name'], `${where}.name`);
  const value = str(o['value']) ?? '';
  const type = str(o['type']) ?? 'Exact';
  if (type === 'Exact') return { name, value: { $case: 'exact', value: Buffer.from(value) } };
  if (type === 'RegularExpression') return { name, value: { $case: 'regex', value: checkRegex(value, where) } };
  throw new Error(`${where}: header match type ${JSON.stringify(type)} is not supported`);
}

function queryParamMatch(m: unknown, where: string): hr.QueryParamMatch {
  const o = isObj(m) ? m : {};
  const name = str(o['name']) ?? '';
  const value = str(o['value']) ?? '';
  const type = str(o['type']) ?? 'Exact';
  if (type === 'Exact') return { name, value: { $case: 'exact', value } };
  if (type === 'RegularExpression') return { name, value: { $case: 'regex', value: checkRegex(value, where) } };
  throw new Error(`${where}: query parameter match type ${JSON.stringify(type)} is not supported`);
}

export function httpMatch(m: unknown, where: string): hr.HttpRouteMatch {
  const o = isObj(m) ? m : {};
  let path: hr.PathMatch | undefined;
  if (isObj(o['path'])) {
    const type = str(o['path']['type']) ?? 'PathPrefix';
    const value = str(o['path']['value']) ?? '/';
    if (type === 'Exact') path = { kind: { $case: 'exact', value } };
    else if (type === 'PathPrefix') path = { kind: { $case: 'prefix', value } };
    else if (type === 'RegularExpression') path = { kind: { $case: 'regex', value: checkRegex(value, `${where}.path`) } };
    else throw new Error(`${where}.path: type ${JSON.stringify(type)} is not supported`);
  }
  return {
    path,
    headers: list(o['headers']).map((h, i) => headerMatch(h, `${where}.headers[${i}]`)),
    queryParams: list(o['queryParams']).map((q, i) => queryParamMatch(q, `${where}.queryParams[${i}]`)),
    method: str(o['method']) ? httpMethod(str(o['method']) as string) : undefined,
  };
}

function grpcMatch(m: unknown, where: string): gr.GrpcRouteMatch {
  const o = isObj(m) ? m : {};
  let rpc: gr.GrpcRpcMatch | undefined;
  if (isObj(o['method'])) {
    const type = str(o['method']['type']) ?? 'Exact';
    if (type !== 'Exact') throw new Error(`${where}.method: type ${JSON.stringify(type)} is not supported`);
    rpc = { service: str(o['method']['service']) ?? '', method: str(o['method']['method']) ?? '' };
  }
  return { rpc, headers: list(o['headers']).map((h, i) => headerMatch(h, `${where}.headers[${i}]`)) };
}

function headers(v: unknown, where: string): httpTypes.Headers | undefined {
  const items = list(v);
  if (items.length === 0) return undefined;
  return {
    headers: items.map((h, i) => {
      const o = isObj(h) ? h : {};
      return { name: headerName(o['name'], `${where}[${i}].name`), value: Buffer.from(headerValue(o['value'], `${where}[${i}].value`)) };
    }),
  };
}

function headerModifier(v: unknown, where: string): hr.RequestHeaderModifier {
  const o = isObj(v) ? v : {};
  return { add: headers(o['add'], `${where}.add`), set: headers(o['set'], `${where}.set`), remove: list(o['remove']).map((r, i) => headerName(r, `${where}.remove[${i}]`)) };
}

function redirect(v: unknown, where: string): hr.RequestRedirect {
  const o = isObj(v) ? v : {};
  const scheme = str(o['scheme']);
  let path: hr.PathModifier | undefined;
  if (isObj(o['path'])) {
    const type = str(o['path']['type']);
    if (type === 'ReplaceFullPath') path = { replace: { $case: 'full', value: str(o['path']['replaceFullPath']) ?? '' } };
    else if (type === 'ReplacePrefixMatch') path = { replace: { $case: 'prefix', value: str(o['path']['replacePrefixMatch']) ?? '' } };
    else throw new Error(`${where}.path: type ${JSON.stringify(type)} is not supported`);
  }
  const port = o['port'];
  if (port !== undefined && (int(port) === undefined || (port as number) < 1 || (port as number) > 65535)) throw new Error(`${where}.port: ${JSON.stringify(port)} is not a port (1-65535)`);
  const status = o['statusCode'];
  if (status !== undefined && ![301, 302, 303, 307, 308].includes(status as number)) throw new Error(`${where}.statusCode: ${JSON.stringify(status)} is not a redirect status (301, 302, 303, 307 or 308)`);
  const registered = scheme?.toLowerCase() === 'http' ? httpTypes.Scheme_Registered.HTTP : scheme?.toLowerCase() === 'https' ? httpTypes.Scheme_Registered.HTTPS : undefined;
  return {
    scheme: scheme === undefined ? undefined : { type: registered !== undefined ? { $case: 'registered', value: registered } : { $case: 'unregistered', value: scheme } },
    host: str(o['hostname']) ?? '',
    path,
    port: int(o['port']) ?? 0,
    status: int(o['statusCode']) ?? 0,
  };
}

export function filter(f: unknown, where: string): RouteFilter {
  const o = isObj(f) ? f : {};
  const type = str(o['type']);
  switch (type) {
    case 'RequestHeaderModifier':
      return { type: 'requestHeaderModifier', value: headerModifier(o['requestHeaderModifier'], `${where}.requestHeaderModifier`) };
    case 'ResponseHeaderModifier':
      return { type: 'responseHeaderModifier', value: headerModifier(o['responseHeaderModifier'], `${where}.responseHeaderModifier`) };
    case 'RequestRedirect':
      return { type: 'redirect', value: redirect(o['requestRedirect'], `${where}.requestRedirect`) };
    default:
      throw new Error(`${where}: filter type ${JSON.stringify(type)} is not supported`);
  }
}

function backendRef(b: unknown, routeNs: string, where: string): BackendRef {
  const o = isObj(b) ? b : {};
  let filters: RouteFilter[] = [];
  let invalid: string | undefined;
  try {
    filters = list(o['filters']).map((f, i) => filter(f, `${where}.filters[${i}]`));
  } catch (err) {
    invalid = `unsupported backend filter: ${(err as Error).message}`;
  }
  return {
    group: normalGroup(str(o['group'])),
    kind: str(o['kind']) ?? 'Service',
    namespace: str(o['namespace']) || routeNs,
    name: str(o['name']) ?? '',
    port: int(o['port']),
    weight: int(o['weight']) ?? 1,
    filters,
    invalid,
  };
}

function parentRef(p: unknown, routeNs: string): ParentRef {
  const o = isObj(p) ? p : {};
  return { group: normalGroup(str(o['group'])), kind: str(o['kind']) ?? '', namespace: str(o['namespace']) || routeNs, name: str(o['name']) ?? '', port: int(o['port']) };
}

function createdMs(obj: CustomObject): number | undefined {
  const t = obj.metadata?.creationTimestamp;
  if (t === undefined) return undefined;
  const v = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(v) ? undefined : v;
}

/** Reads an HTTPRoute or GRPCRoute of either group. Never throws: an unusable route carries `error`. */
export function routeRecord(obj: CustomObject & { metadata?: { annotations?: Record<string, string> } }, group: string, kind: RouteKind): RouteRecord {
  const namespace = obj.metadata?.namespace ?? '';
  const spec = isObj(obj.spec) ? obj.spec : {};
  const base = {
    group,
    kind,
    namespace,
    name: obj.metadata?.name ?? '',
    createdMs: createdMs(obj),
    parentRefs: list(spec['parentRefs']).map((p) => parentRef(p, namespace)),
    annotations: parseOutboundAnnotations(keepOutboundAnnotations(obj.metadata?.annotations), kind),
  };
  const problems: AnnotationProblem[] = [];
  try {
    const hosts = list(spec['hostnames']).map((h) => hostMatch(String(h)));
    const rules = list(spec['rules']).map((r, i): RouteRule => {
      const where = `spec.rules[${i}]`;
      const o = isObj(r) ? r : {};
      let filters = list(o['filters']).map((f, j) => filter(f, `${where}.filters[${j}]`));
      if (kind === 'GRPCRoute') {
        // gRPC routes carry only request header modifiers on the wire; Linkerd drops the rest with a warning.
        for (const f of filters) if (f.type !== 'requestHeaderModifier') problems.push({ annotation: `${where}.filters`, value: f.type, reason: 'not supported on a GRPCRoute; left out' });
        filters = filters.filter((f) => f.type === 'requestHeaderModifier');
      }
      let requestTimeoutMs: number | undefined;
      const t = isObj(o['timeouts']) ? str(o['timeouts']['request']) : undefined;
      if (group === GROUP_POLICY && kind === 'HTTPRoute' && t !== undefined) {
        try {
          requestTimeoutMs = parseDuration(`${where}.timeouts.request`, t) || undefined;
        } catch {
          throw new Error(`${where}.timeouts.request: ${JSON.stringify(t)} is not a duration such as 10s or 500ms`);
        }
      }
      return {
        httpMatches: kind === 'HTTPRoute' ? list(o['matches']).map((m, j) => httpMatch(m, `${where}.matches[${j}]`)) : [],
        grpcMatches: kind === 'GRPCRoute' ? list(o['matches']).map((m, j) => grpcMatch(m, `${where}.matches[${j}]`)) : [],
        filters,
        backends: list(o['backendRefs']).map((b, j) => backendRef(b, namespace, `${where}.backendRefs[${j}]`)),
        requestTimeoutMs,
      };
    });
    return { ...base, hosts, rules, error: undefined, problems };
  } catch (err) {
    return { ...base, hosts: [], rules: [], error: (err as Error).message, problems };
  }
}

/** Orders routes as Linkerd does: older first (routes without a timestamp last), then by name. */
export function byAgeThenName(a: RouteRecord, b: RouteRecord): number {
  if (a.createdMs !== undefined && b.createdMs !== undefined && a.createdMs !== b.createdMs) return a.createdMs - b.createdMs;
  if (a.createdMs !== undefined && b.createdMs === undefined) return -1;
  if (a.createdMs === undefined && b.createdMs !== undefined) return 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
