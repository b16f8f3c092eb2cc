// The outbound decision per original destination (docs/reference/linkerd-proxy.md §2 "Outbound decision", §5): the profile and
// the policy are asked in parallel. A policy answer routes the target by policy, unless a ServiceProfile with
// routes or dst_overrides exists, which takes precedence for backwards compatibility (Linkerd logs "ServiceProfile
// has routes, overriding OutboundPolicy"). NotFound (not a policy target), Unimplemented (a control plane without
// the policy API, warned about by PolicyDiscovery) or no answer in time leave the profile's resolution, which
// forwards to the original destination when there is no profile either. Without a policy controller configured
// nothing changes. With both a policy and a service profile, both are kept and followed: the profile gaining or
// losing routes switches new requests between them (outbound/routes.ts), as Linkerd's watch does.
import type { Discovery } from '../../discovery/discovery.ts';
import type { LogicalTarget, OutboundResolver, Resolution } from '../../discovery/outbound.ts';
import type { outbound } from '@trellis/proto';
import type { Lease } from '../../discovery/leases.ts';
import type { PolicyDiscovery, PolicyWatch } from '../../policy/policy-discovery.ts';
import type { BalancerEndpoints } from './metrics.ts';
import { profileOverrides } from '../routes.ts';
import { PolicyTarget, type PolicyLog } from './target.ts';

export type OutboundResolution = Resolution | { readonly kind: 'policy'; readonly target: PolicyTarget; readonly profile: LogicalTarget | undefined };

export interface ResolveParts {
  readonly outbound: OutboundResolver;
  readonly discovery: Discovery;
  readonly policy: PolicyDiscovery | undefined;
}

/** How long to wait for the first policy before using the profile alone (as long as for the profile). */
const POLICY_TIMEOUT_MS = 3_000;

export interface ResolveOptions {
  readonly log: PolicyLog;
  /** The endpoints gauge policy targets register with while they live. */
  readonly endpoints?: BalancerEndpoints | undefined;
  readonly timeoutMs?: number;
}

export async function resolveOutbound(parts: ResolveParts, ip: string, port: number, o: ResolveOptions): Promise<OutboundResolution> {
  const { log, timeoutMs = POLICY_TIMEOUT_MS } = o;
  if (!parts.policy) return parts.outbound.resolve(ip, port);
  const lease = parts.policy.outbound(ip, port);
  const [profiled, policy] = await Promise.all([parts.outbound.resolve(ip, port), lease.value.first(timeoutMs)]);
  if (lease.value.state !== 'ok' || !policy) {
    lease.release();
    return profiled;
  }
  const addr = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  if (profiled.kind === 'logical' && profileOverrides(profiled.target)) log.debug({ target: addr }, 'ServiceProfile has routes, overriding OutboundPolicy');
  const target = policyTarget(parts, addr, policy, lease, o);
  // A known pod's profile has nothing to say over a policy.
  if (profiled.kind === 'endpoint') profiled.release();
  return { kind: 'policy', target, profile: profiled.kind === 'logical' ? profiled.target : undefined };
}

function policyTarget(parts: ResolveParts, addr: string, policy: outbound.OutboundPolicy, lease: Lease<PolicyWatch<outbound.OutboundPolicy>>, o: ResolveOptions): PolicyTarget {
  const { log, endpoints } = o;
  const target = new PolicyTarget(addr, policy, lease, parts.discovery, { ...parts.outbound.options, log, ...(endpoints ? { onRelease: (t: PolicyTarget) => endpoints.untrack(t) } : {}) });
  endpoints?.track(target);
  return target;
}

/**
 * For a target resolved before its policy came (the controller did not answer within the wait): hands the policy
 * target to `adopt` when the policy arrives, so the target's new requests take it from then on. Returns a function
 * that stops waiting (the target was released first).
 */
export function whenPolicyArrives(parts: ResolveParts, ip: string, port: number, o: ResolveOptions, adopt: (t: PolicyTarget) => void): () => void {
  if (!parts.policy) return noop;
  const lease = parts.policy.outbound(ip, port);
  const pw = lease.value;
  const addr = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  const take = () => {
    stop();
    if (!pw.current) return lease.release();
    o.log.debug({ target: addr }, 'the policy arrived after the target was resolved without it; new requests follow it');
    adopt(policyTarget(parts, addr, pw.current, lease, o));
  };
  const rejected = () => {
    stop();
    lease.release();
  };
  const stop = () => {
    pw.off('update', take);
    pw.off('rejected', rejected);
  };
  if (pw.state === 'ok') {
    take();
    return noop;
  }
  if (pw.state !== 'pending') {
    lease.release();
    return noop;
  }
  pw.once('update', take);
  pw.once('rejected', rejected);
  let cancelled = false;
  return () => {
    if (cancelled || pw.state !== 'pending') return;
    cancelled = true;
    stop();
    lease.release();
  };
}

function noop(): void {
  // nothing to stop
}
