// HTTPRoute (policy.linkerd.io and gateway.networking.k8s.io) and GRPCRoute: matches and filters are read with
// the functions the index uses (policy/routes.ts), so a route the validator admits is one the index can serve.
// Filters Trellis does not implement are admitted on Gateway API routes, as Linkerd admits them: those routes
// may belong to another implementation's Gateway. Parents are not looked up: a route may be applied before
// its Service or Server, and Linkerd too only checks that an EgressNetwork parent names a port.
import { parseDuration } from '@trellis/config';
import { keepOutboundAnnotations, parseOutboundAnnotations } from '../../policy/annotations.ts';
import { filter, GROUP_GATEWAY, GROUP_POLICY, headerMatch, httpMatch, type RouteKind } from '../../policy/routes.ts';
import { isKind, isObj, kindOf, str, type Obj } from './fields.ts';

const HTTP_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect'];
const GRPC_FILTERS = ['RequestHeaderModifier', 'ResponseHeaderModifier'];
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Runs a reader of policy/routes.ts and turns what it throws into the problem. */
function read(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function grpcMatchProblem(m: unknown, where: string): string | undefined {
  if (!isObj(m)) return `${where} must be an object`;
  const method = m['method'];
  if (method !== undefined) {
    if (!isObj(method)) return `${where}.method must be an object`;
    if (!str(method['service']) && !str(method['method'])) return `${where}.method: at least one of service and method must be a non-empty string`;
  }
  const headers = Array.isArray(m['headers']) ? m['headers'] : [];
  for (const [i, h] of headers.entries()) {
    const why = read(() => headerMatch(h, `${where}.headers[${i}]`));
    if (why) return why;
  }
  return undefined;
}

function httpMatchProblem(m: unknown, where: string): string | undefined {
  if (!isObj(m)) return `${where} must be an object`;
  const method = m['method'];
  if (method !== undefined && (typeof method !== 'string' || !METHOD.test(method))) return `${where}.method: ${JSON.stringify(method)} is not an HTTP method`;
  return read(() => httpMatch(m, where));
}

function timeoutsProblem(t: unknown, where: string): string | undefined {
  if (!isObj(t)) return undefined;
  const ms: Record<string, number> = {};
  for (const key of ['request', 'backendRequest']) {
    const v = t[key];
    if (v === undefined) continue;
    try {
      ms[key] = parseDuration(`${where}.${key}`, String(v));
    } catch {
      return `${where}.${key}: ${JSON.stringify(v)} is not a duration such as 10s or 500ms`;
    }
  }
  // A request timeout of 0 means none, so any backend timeout fits inside it.
  const request = ms['request'];
  const backend = ms['backendRequest'];
  if (request !== undefined && backend !== undefined && request > 0 && backend > request) {
    return `${where}.backendRequest (${String(t['backendRequest'])}) must not be longer than ${where}.request (${String(t['request'])})`;
  }
  return undefined;
}

function backendProblem(b: unknown, where: string): string | undefined {
  if (!isObj(b)) return `${where} must be an object`;
  // Only Service backends are Trellis's to judge; any other kind is left to whoever implements it.
  if (!isKind(kindOf(b, 'Service'), 'core', 'Service')) return undefined;
  const port = b['port'];
  if (port === undefined) return `${where}.port is required: a route cannot send to a Service without naming its port`;
  if (port === 0) return `${where}.port: a route cannot send to port 0 of a Service`;
  return undefined;
}

function ruleProblem(r: unknown, where: string, group: string, kind: RouteKind): string | undefined {
  if (!isObj(r)) return `${where} must be an object`;
  const matches = Array.isArray(r['matches']) ? r['matches'] : [];
  for (const [j, m] of matches.entries()) {
    const why = kind === 'GRPCRoute' ? grpcMatchProblem(m, `${where}.matches[${j}]`) : httpMatchProblem(m, `${where}.matches[${j}]`);
    if (why) return why;
  }
  const filters = Array.isArray(r['filters']) ? r['filters'] : [];
  for (const [j, f] of filters.entries()) {
    const at = `${where}.filters[${j}]`;
    const type = isObj(f) ? str(f['type']) : undefined;
    if ((kind === 'GRPCRoute' ? GRPC_FILTERS : HTTP_FILTERS).includes(type ?? '')) {
      const why = read(() => filter(f, at));
      if (why) return why;
    } else if (group === GROUP_POLICY) {
      return `${at}: filter type ${JSON.stringify(type)} is not supported; use ${HTTP_FILTERS.join(', ')}`;
    }
  }
  if (group === GROUP_POLICY && kind === 'HTTPRoute') {
    const why = timeoutsProblem(r['timeouts'], `${where}.timeouts`);
    if (why) return why;
  }
  if (group === GROUP_GATEWAY && kind === 'HTTPRoute') {
    const backends = Array.isArray(r['backendRefs']) ? r['backendRefs'] : [];
    for (const [j, b] of backends.entries()) {
      const why = backendProblem(b, `${where}.backendRefs[${j}]`);
      if (why) return why;
    }
  }
  return undefined;
}

export function routeProblem(spec: Obj, annotations: Readonly<Record<string, string>> | undefined, group: string, kind: RouteKind): string | undefined {
  const parents = Array.isArray(spec['parentRefs']) ? spec['parentRefs'] : [];
  let outbound = false;
  for (const [i, p] of parents.entries()) {
    if (!isObj(p)) return `spec.parentRefs[${i}] must be an object`;
    const k = kindOf(p);
    if (isKind(k, GROUP_POLICY, 'EgressNetwork') && p['port'] === undefined) return `spec.parentRefs[${i}].port is required: a route on an EgressNetwork must name a port`;
    if (isKind(k, 'core', 'Service') || isKind(k, GROUP_POLICY, 'EgressNetwork')) outbound = true;
  }
  // Retry and timeout annotations configure a route only on the outbound side, so only there are they judged.
  if (outbound) {
    const [p] = parseOutboundAnnotations(keepOutboundAnnotations(annotations), kind).problems;
    if (p) return `metadata.annotations[${p.annotation}]: ${p.reason.includes(JSON.stringify(p.value)) ? '' : `${JSON.stringify(p.value)}: `}${p.reason}`;
  }
  const rules = Array.isArray(spec['rules']) ? spec['rules'] : [];
  for (const [i, r] of rules.entries()) {
    const why = ruleProblem(r, `spec.rules[${i}]`, group, kind);
    if (why) return why;
  }
  return undefined;
}
