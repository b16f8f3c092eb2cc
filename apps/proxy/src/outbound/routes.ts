// The route stage's value for one meshed target: which routes its requests take, chosen when discovery answers
// and again on each watch update (never per request). An OutboundPolicy routes the target unless its
// ServiceProfile has routes or dst_overrides, which take precedence (docs/reference/linkerd-proxy.md §2 "Outbound
// decision"); without a policy the profile routes a service, and a known pod is its one endpoint.
import type { LogicalTarget, MeshEndpoint } from '../discovery/outbound.ts';
import type { PolicyTarget } from './policy/target.ts';

export type TargetRoutes =
  /** Routed by the OutboundPolicy's rules (outbound/policy/http.ts). */
  | { readonly kind: 'policy'; readonly policy: PolicyTarget; readonly logical: LogicalTarget | undefined }
  /** Routed by the ServiceProfile (its routes, or none: the default route), split over its backends. */
  | { readonly kind: 'profile'; readonly logical: LogicalTarget; readonly canonical: string }
  /** A known pod: its one endpoint, no routes. */
  | { readonly kind: 'endpoint'; readonly endpoint: MeshEndpoint };

/** Whether a ServiceProfile takes precedence over a policy: it has routes or dst_overrides. */
export function profileOverrides(logical: LogicalTarget): boolean {
  const p = logical.profile;
  return p.routes.length > 0 || p.dstOverrides.length > 0;
}

/** The routes for what discovery currently says about a target (at least one of the three is set). */
export function chooseRoutes(policy: PolicyTarget | undefined, logical: LogicalTarget | undefined, endpoint: MeshEndpoint | undefined): TargetRoutes {
  if (policy && !(logical && profileOverrides(logical))) return { kind: 'policy', policy, logical };
  if (logical) return { kind: 'profile', logical, canonical: logical.logical };
  if (endpoint) return { kind: 'endpoint', endpoint };
  throw new Error('a meshed target needs a policy, a profile or an endpoint');
}
