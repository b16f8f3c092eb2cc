// sp-validator: the validating admission webhook for ServiceProfiles (AdmissionReview v1 over HTTPS).
// A ServiceProfile is admitted when its name is a service FQDN in this cluster's domain and its spec
// translates into a DestinationProfile; a denial names the field at fault. Served by admission-server.ts.
import { InvalidRequestError } from '../errors.ts';
import { translateProfileSpec } from '../discovery/profile.ts';
import type { Validator } from './admission-review.ts';

const TOP_LEVEL_SPEC_FIELDS = new Set(['routes', 'retryBudget', 'dstOverrides', 'opaquePorts']);

/** Why a ServiceProfile must be refused, or undefined when it is valid. */
export function serviceProfileProblem(obj: unknown, clusterDomain: string): string | undefined {
  const o = (typeof obj === 'object' && obj !== null ? obj : {}) as { metadata?: { name?: unknown }; spec?: unknown };
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  const suffix = `.svc.${clusterDomain}`;
  const labels = name.endsWith(suffix) ? name.slice(0, -suffix.length).split('.') : [];
  if (labels.length !== 2 || labels.some((l) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(l))) {
    return `ServiceProfile "${name}" must be named <service>.<namespace>.svc.${clusterDomain}`;
  }
  if (typeof o.spec !== 'object' || o.spec === null || Array.isArray(o.spec)) return `ServiceProfile "${name}" has no spec`;
  const unknown = Object.keys(o.spec).filter((k) => !TOP_LEVEL_SPEC_FIELDS.has(k));
  if (unknown.length > 0) return `ServiceProfile "${name}": unknown field(s) spec.${unknown.join(', spec.')}`;
  const spec = o.spec as Record<string, unknown>;
  if (spec['retryBudget'] !== undefined) {
    const b = spec['retryBudget'] as Record<string, unknown>;
    for (const f of ['retryRatio', 'minRetriesPerSecond', 'ttl']) {
      if (typeof b !== 'object' || b === null || b[f] === undefined) return `ServiceProfile "${name}": spec.retryBudget.${f} is required`;
    }
  }
  for (const [i, r] of (Array.isArray(spec['routes']) ? spec['routes'] : []).entries()) {
    if (typeof r !== 'object' || r === null || (r as Record<string, unknown>)['condition'] === undefined) return `ServiceProfile "${name}": spec.routes[${i}].condition is required`;
  }
  try {
    translateProfileSpec(o.spec, 80);
  } catch (err) {
    if (err instanceof InvalidRequestError) return `ServiceProfile "${name}": ${err.message}`;
    throw err;
  }
  return undefined;
}

/** The sp-validator: ServiceProfiles on CREATE and UPDATE; anything else the API server sends is admitted. */
export function serviceProfileValidator(clusterDomain: string): Validator {
  return (req) => {
    if (req.kind?.kind !== 'ServiceProfile' || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return undefined;
    return serviceProfileProblem(req.object, clusterDomain);
  };
}
