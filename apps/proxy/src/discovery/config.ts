// Discovery settings (docs/reference/linkerd-proxy.md §7, docs/reference/linkerd-contracts.md §3.6), parsed once into a frozen object.
import { parseCidrList, type Cidr } from '@trellis/config';
import { badValue, controlAddr, EnvReader, type ControlAddr, type Env } from '../identity/env.ts';

export interface DiscoveryConfig {
  readonly svcAddr: ControlAddr;
  /** Dialled while svcAddr's name answers no address (TRELLIS_PROXY_DESTINATION_SVC_FALLBACK_ADDR: destination's ClusterIP Service). */
  readonly fallbackAddr?: ControlAddr | undefined;
  /** destination's identity, checked against its certificate; unused for a loopback address. */
  readonly svcName: string;
  /** Sent as GetDestination.context_token: {"ns":..,"nodeName":..,"pod":..}. */
  readonly contextToken: string;
  /** GetProfile is asked only for IPs inside these networks (empty: never, as Linkerd). */
  readonly profileNetworks: readonly Cidr[];
  /** Name suffixes for which profiles are looked up ("svc.cluster.local."). */
  readonly profileSuffixes: readonly string[];
  /** Control streams: first message within, between messages at most, and total lifetime (0: unlimited). */
  readonly streamInitialTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly streamLifetimeMs: number;
  /** A target nobody used for this long is dropped and its streams closed. */
  readonly idleTimeoutMs: number;
  /** How long the inbound's first request for a logical name waits for that name's profile. */
  readonly profileInitialTimeoutMs: number;
}

export function parseDiscoveryConfig(envVars: Env): DiscoveryConfig {
  const env = new EnvReader(envVars);
  const svcAddr = controlAddr('LINKERD2_PROXY_DESTINATION_SVC_ADDR', env.required('LINKERD2_PROXY_DESTINATION_SVC_ADDR'));
  const svcName = svcAddr.loopback ? (env.raw('LINKERD2_PROXY_DESTINATION_SVC_NAME') ?? '') : env.required('LINKERD2_PROXY_DESTINATION_SVC_NAME');
  const initial = env.duration('LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT', '3s');
  const idle = env.duration('LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT', '5m');
  const lifetime = env.duration('LINKERD2_PROXY_CONTROL_STREAM_LIFETIME', '1h');
  // Linkerd enforces initial <= idle <= lifetime.
  if (initial > idle) throw badValue('LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT', env.raw('LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT') ?? '3s', 'must not exceed LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT');
  if (lifetime > 0 && idle > lifetime) throw badValue('LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT', env.raw('LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT') ?? '5m', 'must not exceed LINKERD2_PROXY_CONTROL_STREAM_LIFETIME');
  const fallback = env.raw('TRELLIS_PROXY_DESTINATION_SVC_FALLBACK_ADDR');
  return Object.freeze({
    svcAddr,
    fallbackAddr: fallback ? controlAddr('TRELLIS_PROXY_DESTINATION_SVC_FALLBACK_ADDR', fallback) : undefined,
    svcName: svcName.trim().replace(/\.$/, ''),
    contextToken: env.raw('LINKERD2_PROXY_DESTINATION_CONTEXT') ?? '',
    profileNetworks: Object.freeze(parseCidrList('LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS', env.raw('LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS') ?? '')),
    profileSuffixes: Object.freeze((env.raw('LINKERD2_PROXY_DESTINATION_PROFILE_SUFFIXES') ?? 'svc.cluster.local.').split(',').map((s) => s.trim()).filter(Boolean)),
    streamInitialTimeoutMs: initial,
    streamIdleTimeoutMs: idle,
    streamLifetimeMs: lifetime,
    idleTimeoutMs: env.duration('LINKERD2_PROXY_OUTBOUND_DISCOVERY_IDLE_TIMEOUT', '5s'),
    profileInitialTimeoutMs: env.duration('LINKERD2_PROXY_DESTINATION_PROFILE_INITIAL_TIMEOUT', '500ms'),
  });
}
