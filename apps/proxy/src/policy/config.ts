// Policy settings (docs/reference/linkerd-proxy.md §7): where the policy controller is, who we are to it, and which inbound
// ports to watch from the start. Without LINKERD2_PROXY_POLICY_SVC_ADDR the proxy runs on its defaults (the
// inbound default policy, profile-only outbound routing) and says so in a warning; Linkerd requires it.
import { parseCidrList, parsePortRanges, type Cidr } from '@trellis/config';
import { controlAddr, EnvReader, type ControlAddr, type Env } from '../identity/env.ts';

export interface PolicyConfig {
  /** undefined: no policy controller configured. */
  readonly svcAddr: ControlAddr | undefined;
  /** Dialled while svcAddr's name answers no address (TRELLIS_PROXY_POLICY_SVC_FALLBACK_ADDR: the controller's ClusterIP Service). */
  readonly fallbackAddr?: ControlAddr | undefined;
  /** The controller's identity, checked against its certificate; unused for a loopback address. */
  readonly svcName: string;
  /** Sent as PortSpec.workload and TrafficSpec.source_workload: {"ns":..,"pod":..}. */
  readonly workload: string;
  /** Ports whose inbound policy is watched at start (the admin port is added by the caller). */
  readonly inboundPorts: readonly number[];
  readonly clusterNetworks: readonly Cidr[];
  /** How long an inbound port's watch may go unused before it closes (LINKERD2_PROXY_INBOUND_DISCOVERY_IDLE_TIMEOUT). */
  readonly inboundIdleTimeoutMs: number;
  /** How long connections to a port wait for its first policy, from when its watch starts (inbound/policy/policies.ts). */
  readonly inboundInitialTimeoutMs: number;
}

export const DEFAULT_CLUSTER_NETWORKS = '10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8';
/** More ports than this in LINKERD2_PROXY_INBOUND_PORTS is a mistake (a range typed by hand), not a pod. */
const MAX_EAGER_PORTS = 1024;

export function parsePolicyConfig(envVars: Env): PolicyConfig {
  const env = new EnvReader(envVars);
  const addr = env.raw('LINKERD2_PROXY_POLICY_SVC_ADDR');
  const svcAddr = addr === undefined ? undefined : controlAddr('LINKERD2_PROXY_POLICY_SVC_ADDR', addr);
  const svcName = svcAddr && !svcAddr.loopback ? env.required('LINKERD2_PROXY_POLICY_SVC_NAME') : (env.raw('LINKERD2_PROXY_POLICY_SVC_NAME') ?? '');
  const workload = svcAddr ? env.required('LINKERD2_PROXY_POLICY_WORKLOAD').trim() : (env.raw('LINKERD2_PROXY_POLICY_WORKLOAD')?.trim() ?? '');
  const ports = new Set<number>();
  for (const r of parsePortRanges('LINKERD2_PROXY_INBOUND_PORTS', env.raw('LINKERD2_PROXY_INBOUND_PORTS') ?? '')) {
    for (let p = r.from; p <= r.to && ports.size <= MAX_EAGER_PORTS; p++) ports.add(p);
  }
  const fallback = env.raw('TRELLIS_PROXY_POLICY_SVC_FALLBACK_ADDR');
  return Object.freeze({
    svcAddr,
    fallbackAddr: fallback ? controlAddr('TRELLIS_PROXY_POLICY_SVC_FALLBACK_ADDR', fallback) : undefined,
    svcName: svcName.trim().replace(/\.$/, ''),
    workload,
    inboundPorts: Object.freeze([...ports].slice(0, MAX_EAGER_PORTS)),
    clusterNetworks: Object.freeze(parseCidrList('LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS', env.raw('LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS') ?? DEFAULT_CLUSTER_NETWORKS)),
    inboundIdleTimeoutMs: env.duration('LINKERD2_PROXY_INBOUND_DISCOVERY_IDLE_TIMEOUT', '90s'),
    inboundInitialTimeoutMs: env.duration('TRELLIS_PROXY_INBOUND_POLICY_INITIAL_TIMEOUT', '500ms'),
  });
}
