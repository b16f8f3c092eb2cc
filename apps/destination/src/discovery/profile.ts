// DestinationProfile for GetProfile (contracts §3.5): the ServiceProfile (linkerd.io/v1alpha2)
// translated to routes, response classes, retry budget and traffic-split overrides, or the default
// profile when none exists; and the endpoint profile for a single pod.
import { parseDuration } from '@trellis/config';
import { durationFromMillis, httpTypes, type destination, type metadata } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import { InvalidRequestError } from '../errors.ts';
import type { ProfileRecord, ServiceRecord } from '../index/model.ts';
import { parsePortList } from './ports.ts';

export const DEFAULT_RETRY_BUDGET: destination.RetryBudget = { retryRatio: 0.2, minRetriesPerSecond: 10, ttl: durationFromMillis(10_000) };

export function emptyProfile(): destination.DestinationProfile {
  return {
    routes: [],
    retryBudget: undefined,
    dstOverrides: [],
    opaqueProtocol: false,
    fullyQualifiedName: '',
    endpoint: undefined,
    parentRef: undefined,
    profileRef: undefined,
  };
}

export function resource(group: string, kind: string, name: string, namespace: string, port = 0): metadata.Metadata {
  return { kind: { $case: 'resource', value: { group, kind, name, namespace, section: '', port } } };
}

const METHODS: Record<string, httpTypes.HttpMethod_Registered> = {
  GET: httpTypes.HttpMethod_Registered.GET,
  POST: httpTypes.HttpMethod_Registered.POST,
  PUT: httpTypes.HttpMethod_Registered.PUT,
  DELETE: httpTypes.HttpMethod_Registered.DELETE,
  PATCH: httpTypes.HttpMethod_Registered.PATCH,
  OPTIONS: httpTypes.HttpMethod_Registered.OPTIONS,
  CONNECT: httpTypes.HttpMethod_Registered.CONNECT,
  HEAD: httpTypes.HttpMethod_Registered.HEAD,
  TRACE: httpTypes.HttpMethod_Registered.TRACE,
};

export function httpMethod(name: string): httpTypes.HttpMethod {
  const registered = METHODS[name.toUpperCase()];
  return { type: registered !== undefined ? { $case: 'registered', value: registered } : { $case: 'unregistered', value: name } };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function requestMatch(c: unknown, where: string): destination.RequestMatch {
  if (!isObj(c)) throw new InvalidRequestError(`${where}: condition must be an object`);
  const parts: destination.RequestMatch[] = [];
  if (typeof c['method'] === 'string' && c['method'] !== '') parts.push({ match: { $case: 'method', value: httpMethod(c['method']) } });
  if (typeof c['pathRegex'] === 'string' && c['pathRegex'] !== '') {
    try {
      new RegExp(c['pathRegex']);
    } catch {
      throw new InvalidRequestError(`${where}: pathRegex ${JSON.stringify(c['pathRegex'])} is not a valid regular expression`);
    }
    parts.push({ match: { $case: 'path', value: { regex: c['pathRegex'] } } });
  }
  if (c['all'] !== undefined) parts.push({ match: { $case: 'all', value: { matches: list(c['all']).map((x, i) => requestMatch(x, `${where}.all[${i}]`)) } } });
  if (c['any'] !== undefined) parts.push({ match: { $case: 'any', value: { matches: list(c['any']).map((x, i) => requestMatch(x, `${where}.any[${i}]`)) } } });
  if (c['not'] !== undefined) parts.push({ match: { $case: 'not', value: requestMatch(c['not'], `${where}.not`) } });
  if (parts.length === 0) throw new InvalidRequestError(`${where}: condition has no method, pathRegex, all, any or not`);
  return parts.length === 1 ? (parts[0] as destination.RequestMatch) : { match: { $case: 'all', value: { matches: parts } } };
}

function responseMatch(c: unknown, where: string): destination.ResponseMatch {
  if (!isObj(c)) throw new InvalidRequestError(`${where}: condition must be an object`);
  const parts: destination.ResponseMatch[] = [];
  if (c['status'] !== undefined) {
    const s = isObj(c['status']) ? c['status'] : {};
    const min = Number(s['min'] ?? 0);
    const max = Number(s['max'] ?? 0);
    const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= 599;
    if (!ok(min) || !ok(max) || (min !== 0 && max !== 0 && max < min)) {
      throw new InvalidRequestError(`${where}: status range ${JSON.stringify(c['status'])} is not within 100..599 with min <= max`);
    }
    parts.push({ match: { $case: 'status', value: { min, max } } });
  }
  if (c['all'] !== undefined) parts.push({ match: { $case: 'all', value: { matches: list(c['all']).map((x, i) => responseMatch(x, `${where}.all[${i}]`)) } } });
  if (c['any'] !== undefined) parts.push({ match: { $case: 'any', value: { matches: list(c['any']).map((x, i) => responseMatch(x, `${where}.any[${i}]`)) } } });
  if (c['not'] !== undefined) parts.push({ match: { $case: 'not', value: responseMatch(c['not'], `${where}.not`) } });
  if (parts.length === 0) throw new InvalidRequestError(`${where}: condition has no status, all, any or not`);
  return parts.length === 1 ? (parts[0] as destination.ResponseMatch) : { match: { $case: 'all', value: { matches: parts } } };
}

function duration(v: unknown, where: string): number {
  try {
    return parseDuration(where, String(v));
  } catch {
    throw new InvalidRequestError(`${where}: ${JSON.stringify(v)} is not a duration such as 10s or 250ms`);
  }
}

const SUFFIX_MILLI: Record<string, number> = { m: 1, '': 1e3, k: 1e6, M: 1e9, G: 1e12, Ki: 1024e3, Mi: 1024 ** 2 * 1e3, Gi: 1024 ** 3 * 1e3 };

/** A Kubernetes quantity ("1", "500m", "0.5", 2) in thousandths, as Quantity.MilliValue() gives. */
export function quantityMilli(v: unknown, where: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(v).trim());
  if (!m) throw new InvalidRequestError(`${where}: ${JSON.stringify(v)} is not a quantity such as 1, 0.5 or 500m`);
  return Math.ceil(Number(m[1]) * (SUFFIX_MILLI[m[2] ?? ''] as number));
}

/** The routes, budget and overrides of a ServiceProfile spec; throws InvalidRequestError naming the bad field. */
export function translateProfileSpec(spec: unknown, port: number): Pick<destination.DestinationProfile, 'routes' | 'retryBudget' | 'dstOverrides'> {
  const s = isObj(spec) ? spec : {};
  const routes = list(s['routes']).map((r, i): destination.Route => {
    const where = `spec.routes[${i}]`;
    if (!isObj(r) || typeof r['name'] !== 'string' || r['name'] === '') throw new InvalidRequestError(`${where}: a route needs a name`);
    return {
      condition: requestMatch(r['condition'], `${where}.condition`),
      responseClasses: list(r['responseClasses']).map((rc, j) => {
        const w = `${where}.responseClasses[${j}]`;
        if (!isObj(rc)) throw new InvalidRequestError(`${w}: must be an object`);
        return { condition: responseMatch(rc['condition'], `${w}.condition`), isFailure: rc['isFailure'] === true };
      }),
      metricsLabels: { route: r['name'] },
      isRetryable: r['isRetryable'] === true,
      timeout: r['timeout'] === undefined || r['timeout'] === '' ? undefined : durationFromMillis(duration(r['timeout'], `${where}.timeout`)),
    };
  });
  let retryBudget = DEFAULT_RETRY_BUDGET;
  if (isObj(s['retryBudget'])) {
    const b = s['retryBudget'];
    const ratio = Number(b['retryRatio']);
    const min = Number(b['minRetriesPerSecond']);
    if (!Number.isFinite(ratio) || ratio < 0) throw new InvalidRequestError(`spec.retryBudget.retryRatio ${JSON.stringify(b['retryRatio'])} must be a number >= 0`);
    if (!Number.isInteger(min) || min < 0) throw new InvalidRequestError(`spec.retryBudget.minRetriesPerSecond ${JSON.stringify(b['minRetriesPerSecond'])} must be an integer >= 0`);
    retryBudget = { retryRatio: ratio, minRetriesPerSecond: min, ttl: durationFromMillis(duration(b['ttl'], 'spec.retryBudget.ttl')) };
  }
  const dstOverrides = list(s['dstOverrides']).map((d, i): destination.WeightedDst => {
    const where = `spec.dstOverrides[${i}]`;
    if (!isObj(d) || typeof d['authority'] !== 'string' || d['authority'] === '') throw new InvalidRequestError(`${where}: needs an authority`);
    const authority = /:\d+$/.test(d['authority']) ? d['authority'] : `${d['authority']}:${port}`;
    return { authority, weight: quantityMilli(d['weight'] ?? 0, `${where}.weight`) * 10, backendRef: undefined };
  });
  return { routes, retryBudget, dstOverrides };
}

/** Opaque ports of a Service: its annotation (numbers, ranges, its own port names), else the default list. */
export function serviceOpaque(cfg: DestinationConfig, svc: ServiceRecord, port: number): boolean {
  if (svc.opaquePorts !== undefined) {
    return parsePortList(svc.opaquePorts, (n) => svc.ports.filter((p) => p.name === n).map((p) => p.port)).set.has(port);
  }
  return cfg.defaultOpaquePorts.some((r) => port >= r.from && port <= r.to);
}

export function serviceFqn(cfg: DestinationConfig, svc: { namespace: string; name: string }): string {
  return `${svc.name}.${svc.namespace}.svc.${cfg.clusterDomain}`;
}

/**
 * The profile of a Service port. `sp` is the ServiceProfile chosen (client namespace first); when its
 * spec cannot be translated, `onInvalid` is told and the default profile is served.
 */
export function serviceProfile(
  cfg: DestinationConfig,
  svc: ServiceRecord,
  port: number,
  sp: ProfileRecord | undefined,
  onInvalid: (err: Error, sp: ProfileRecord) => void = () => undefined,
): destination.DestinationProfile {
  if (!svc.ports.some((p) => p.port === port)) return emptyProfile();
  const profile: destination.DestinationProfile = {
    ...emptyProfile(),
    retryBudget: DEFAULT_RETRY_BUDGET,
    opaqueProtocol: serviceOpaque(cfg, svc, port),
    fullyQualifiedName: serviceFqn(cfg, svc),
    parentRef: resource('core', 'Service', svc.name, svc.namespace, port),
  };
  if (!sp) return profile;
  try {
    Object.assign(profile, translateProfileSpec(sp.spec, port));
  } catch (err) {
    onInvalid(err as Error, sp);
    return profile;
  }
  profile.profileRef = resource('linkerd.io', 'ServiceProfile', sp.name, sp.namespace);
  return profile;
}
