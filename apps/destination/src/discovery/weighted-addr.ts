// One endpoint as the proxy sees it (WeightedAddr): address, weight, metric labels, and for pods meshed
// by this control plane the TLS identity, protocol hint and HTTP/2 parameters (contracts §3.4).
import { tcpAddress, type destination } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import { selectorMatches, type PodRecord } from '../index/model.ts';
import { parsePortList } from './ports.ts';

export const DEFAULT_WEIGHT = 10_000;
// The proxy's admin and control ports never take transport-header connections.
const PROXY_ADMIN_PORT = 4191;
const PROXY_CONTROL_PORT = 4190;

export interface EndpointInput {
  readonly ip: string;
  readonly port: number;
  readonly pod: PodRecord | undefined;
  /** The endpoint's zone from its EndpointSlice (pods found by IP have none). */
  readonly zone: string | undefined;
  /** The client's zone ("" when unknown). */
  readonly clientZone: string;
}

function containerPortsNamed(pod: PodRecord, name: string): number[] {
  return pod.containerPorts.filter((p) => p.name === name).map((p) => p.port);
}

/** The owner label of an endpoint: Linkerd names the Deployment behind a ReplicaSet, and Jobs `k8s_job`. */
export function ownerLabel(pod: PodRecord): [string, string] {
  const kind = pod.ownerKind;
  const name = pod.ownerName;
  if (!kind || !name) return ['pod', pod.name];
  const hash = pod.labels['pod-template-hash'];
  if (kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`)) return ['deployment', name.slice(0, -hash.length - 1)];
  if (kind === 'Job') return ['k8s_job', name];
  return [kind.toLowerCase(), name];
}

/** Is `port` of `pod` opaque: the pod's annotation (else the default list), or a Server saying so. */
export function isOpaquePort(cfg: DestinationConfig, index: ClusterIndex, pod: PodRecord, port: number): boolean {
  if (pod.opaquePorts !== undefined) {
    if (parsePortList(pod.opaquePorts, (n) => containerPortsNamed(pod, n)).set.has(port)) return true;
  } else if (cfg.defaultOpaquePorts.some((r) => port >= r.from && port <= r.to)) return true;
  for (const srv of index.serversIn(pod.namespace)) {
    if (srv.proxyProtocol !== 'opaque' || !srv.podSelector || !selectorMatches(srv.podSelector, pod.labels)) continue;
    if (typeof srv.port === 'number' ? srv.port === port : containerPortsNamed(pod, srv.port).includes(port)) return true;
  }
  return false;
}

export function isSkippedInbound(pod: PodRecord, port: number): boolean {
  return parsePortList(pod.skipInboundPorts).set.has(port);
}

export function identityName(cfg: DestinationConfig, pod: PodRecord): string {
  return `${pod.serviceAccount}.${pod.namespace}.serviceaccount.identity.${cfg.controllerNamespace}.${cfg.identityTrustDomain}`;
}

export function zoneLocality(zone: string | undefined, clientZone: string): string {
  if (!zone || !clientZone) return 'unknown';
  return zone === clientZone ? 'local' : 'remote';
}

export function weightedAddr(cfg: DestinationConfig, index: ClusterIndex, e: EndpointInput): destination.WeightedAddr {
  const labels: Record<string, string> = {};
  const pod = e.pod;
  if (pod) {
    labels['pod'] = pod.name;
    const [k, v] = ownerLabel(pod);
    labels[k] = v;
    labels['serviceaccount'] = pod.serviceAccount;
    if (pod.controlPlaneNs) labels['control_plane_ns'] = pod.controlPlaneNs;
    const hash = pod.labels['pod-template-hash'];
    if (hash !== undefined) labels['pod_template_hash'] = hash;
  }
  labels['zone'] = e.zone ?? '';
  labels['zone_locality'] = zoneLocality(e.zone, e.clientZone);
  const sameZone = labels['zone_locality'] === 'local';
  const addr: destination.WeightedAddr = {
    addr: tcpAddress(e.ip, e.port),
    weight: cfg.extEndpointZoneWeights && sameZone ? DEFAULT_WEIGHT * 10 : DEFAULT_WEIGHT,
    metricLabels: labels,
    tlsIdentity: undefined,
    protocolHint: undefined,
    authorityOverride: undefined,
    http2: undefined,
    resourceRef: undefined,
  };
  if (!pod || pod.controlPlaneNs === '' || isSkippedInbound(pod, e.port)) return addr;
  addr.http2 = cfg.meshedHttp2ClientParams;
  const opaque = isOpaquePort(cfg, index, pod, e.port);
  const hint: destination.ProtocolHint = { protocol: undefined, opaqueTransport: undefined };
  if (opaque) hint.protocol = { $case: 'opaque', value: {} };
  else if (cfg.enableH2Upgrade) hint.protocol = { $case: 'h2', value: {} };
  const tagged = cfg.outboundTransportMode === 'transport-header' || opaque;
  if (tagged && e.port !== PROXY_ADMIN_PORT && e.port !== PROXY_CONTROL_PORT && pod.proxyInboundPort !== undefined) {
    hint.opaqueTransport = { inboundPort: pod.proxyInboundPort };
  }
  if (hint.protocol || hint.opaqueTransport) addr.protocolHint = hint;
  if (cfg.identityTrustDomain !== '' && pod.controlPlaneNs === cfg.controllerNamespace) {
    const name = identityName(cfg, pod);
    addr.tlsIdentity = { strategy: { $case: 'dnsLikeIdentity', value: { name } }, serverName: { name } };
  }
  return addr;
}
