// ServiceProfiles for `trellis profile`: a commented template to edit, or routes read from an OpenAPI (Swagger 2 or
// OpenAPI 3) document or a .proto file's services. A ServiceProfile is named for the Service's FQDN.
import { ConfigError } from '@trellis/config';
import protobuf from 'protobufjs';
import { parse } from 'yaml';

export interface ServiceRef {
  readonly service: string;
  readonly namespace: string;
  readonly clusterDomain: string;
}

export interface Route {
  readonly name: string;
  readonly condition: { readonly method: string; readonly pathRegex: string };
}

export interface ServiceProfile {
  readonly apiVersion: 'linkerd.io/v1alpha2';
  readonly kind: 'ServiceProfile';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: { readonly routes: readonly Route[] };
}

export const fqdn = (s: ServiceRef) => `${s.service}.${s.namespace}.svc.${s.clusterDomain}`;

export function profileOf(s: ServiceRef, routes: readonly Route[]): ServiceProfile {
  return { apiVersion: 'linkerd.io/v1alpha2', kind: 'ServiceProfile', metadata: { name: fqdn(s), namespace: s.namespace }, spec: { routes } };
}

/** A profile to edit by hand: one example route, and every other field commented with what it does. */
export function template(s: ServiceRef): string {
  return `### ServiceProfile for ${s.service}.${s.namespace} ###
apiVersion: linkerd.io/v1alpha2
kind: ServiceProfile
metadata:
  name: ${fqdn(s)}
  namespace: ${s.namespace}
spec:
  # One entry per route; a request takes the first route whose condition matches it.
  routes:
  - name: GET /example/{id}
    condition:
      method: GET
      # Anchored regular expression over the request path.
      pathRegex: /example/[^/]*
      # Conditions combine with all, any and not:
      # all:
      # - method: GET
      # - pathRegex: /api/.*
    # Which responses count as failures in the route's metrics (default: 5xx).
    # responseClasses:
    # - condition:
    #     status:
    #       min: 500
    #       max: 599
    #   isFailure: true
    # Retry failed requests of this route (only for idempotent requests), within the retryBudget below.
    # isRetryable: false
    # Fail the request if it takes longer (Go duration).
    # timeout: 10s
  # Retries may add at most this ratio of extra requests, plus minRetriesPerSecond, over ttl.
  # retryBudget:
  #   retryRatio: 0.2
  #   minRetriesPerSecond: 10
  #   ttl: 10s
`;
}

const PATH_PARAM = /\{[^/}]+\}/g;
const escapeRegex = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Routes from an OpenAPI or Swagger document: one per path and method, path parameters matching one segment. */
export function openApiRoutes(text: string, file: string): Route[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(`--open-api ${file}: not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const d = doc as { paths?: Record<string, Record<string, unknown>>; basePath?: string; servers?: { url?: string }[] } | null;
  if (!d || typeof d !== 'object' || !d.paths || typeof d.paths !== 'object') throw new ConfigError(`--open-api ${file}: no "paths" object: not an OpenAPI or Swagger document`);
  // Swagger 2's basePath; OpenAPI 3's first server URL path. Both prefix every path on the wire.
  const serverPath = d.servers?.[0]?.url ? new URL(d.servers[0].url, 'http://x').pathname : '';
  const base = (d.basePath ?? serverPath).replace(/\/+$/, '');
  const routes: Route[] = [];
  for (const [path, ops] of Object.entries(d.paths).sort(([a], [b]) => a.localeCompare(b))) {
    const full = `${base}${path}`;
    const regex = full
      .split(PATH_PARAM)
      .map(escapeRegex)
      .join('[^/]*');
    for (const method of METHODS) {
      if (ops && typeof ops === 'object' && method in ops) routes.push({ name: `${method.toUpperCase()} ${full}`, condition: { method: method.toUpperCase(), pathRegex: regex } });
    }
  }
  return routes;
}

/** Routes from a .proto file: each RPC of each service is POST /package.Service/Method. */
export function protoRoutes(text: string, file: string): Route[] {
  let root: protobuf.Root;
  try {
    root = protobuf.parse(text, { keepCase: true }).root;
  } catch (err) {
    throw new ConfigError(`--proto ${file}: ${(err as Error).message}`);
  }
  const routes: Route[] = [];
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Service) {
        const full = nested.fullName.replace(/^\./, '');
        for (const m of nested.methodsArray) routes.push({ name: m.name, condition: { method: 'POST', pathRegex: escapeRegex(`/${full}/${m.name}`) } });
      } else if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  if (routes.length === 0) throw new ConfigError(`--proto ${file}: no service with an rpc in it`);
  return routes;
}
