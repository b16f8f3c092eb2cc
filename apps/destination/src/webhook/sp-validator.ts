// sp-validator: the validating admission webhook for ServiceProfiles (AdmissionReview v1 over HTTPS).
// A ServiceProfile is admitted when its name is a service FQDN in this cluster's domain and its spec
// translates into a DestinationProfile; a denial names the field at fault.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Logger } from '@trellis/telemetry';
import { InvalidRequestError } from '../errors.ts';
import { translateProfileSpec } from '../discovery/profile.ts';

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

interface AdmissionRequest {
  uid?: string;
  kind?: { group?: string; kind?: string };
  operation?: string;
  object?: unknown;
}

/** The AdmissionReview response for a request (errors become denials here, in one place). */
export function review(body: unknown, clusterDomain: string): object {
  const req = ((body as { request?: AdmissionRequest } | undefined)?.request ?? {}) as AdmissionRequest;
  const uid = req.uid ?? '';
  const respond = (allowed: boolean, message?: string) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid, allowed, ...(message ? { status: { code: 400, reason: 'Invalid', message } } : {}) },
  });
  if (!uid) return respond(false, 'AdmissionReview has no request.uid');
  if (req.kind?.kind !== 'ServiceProfile' || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return respond(true);
  const problem = serviceProfileProblem(req.object, clusterDomain);
  return problem ? respond(false, problem) : respond(true);
}

export interface SpValidator {
  readonly port: number;
  close(): Promise<void>;
}

export async function startSpValidator(opts: { host: string; port: number; certFile: string; keyFile: string; clusterDomain: string; logger: Logger }): Promise<SpValidator> {
  const app = Fastify({
    https: { cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) },
    // Per-request lines are noise for a webhook; warnings and errors still get through.
    loggerInstance: opts.logger.child({ component: 'sp-validator' }, { level: 'warn' }),
    bodyLimit: 4 * 1024 * 1024,
  });
  app.post('/*', async (request) => {
    const out = review(request.body, opts.clusterDomain);
    const response = (out as { response: { allowed: boolean; status?: { message: string } } }).response;
    if (!response.allowed) opts.logger.info({ reason: response.status?.message }, 'ServiceProfile denied');
    return out;
  });
  await app.listen({ host: opts.host, port: opts.port });
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
}
