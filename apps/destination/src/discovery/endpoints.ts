// Endpoint selection for Get (contracts §3.3): ready endpoints of the Service's slices on the resolved
// target port, the instance (hostname) filter, internalTrafficPolicy Local, zone hints, IPv6 preference.
import type { destination } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import type { EndpointRecord, ServiceRecord, SliceRecord } from '../index/model.ts';
import { weightedAddr, type EndpointInput } from './weighted-addr.ts';

export interface EndpointQuery {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  readonly instance: string | undefined;
  readonly clientNode: string | undefined;
}

interface Candidate {
  readonly ip: string;
  readonly port: number;
  readonly endpoint: EndpointRecord;
}

function slicePort(svc: ServiceRecord, slice: SliceRecord, port: number): number | string | undefined {
  const sp = svc.ports.find((p) => p.port === port);
  if (!sp) return port;
  const byName = slice.ports.find((p) => p.name === sp.name);
  if (byName) return byName.port;
  return sp.targetPort;
}

/** The endpoints of a Service port as the proxy should see them, keyed by "ip:port"; undefined when the Service is gone. */
export function selectEndpoints(cfg: DestinationConfig, index: ClusterIndex, q: EndpointQuery): Map<string, destination.WeightedAddr> | undefined {
  const inputs = selectEndpointInputs(cfg, index, q);
  if (!inputs) return undefined;
  const out = new Map<string, destination.WeightedAddr>();
  for (const [k, e] of inputs) out.set(k, weightedAddr(cfg, index, e));
  return out;
}

/**
 * What selectEndpoints builds each WeightedAddr from, keyed the same way: streams compare these inputs with
 * the last ones they sent and rebuild only the endpoints whose inputs changed.
 */
export function selectEndpointInputs(cfg: DestinationConfig, index: ClusterIndex, q: EndpointQuery): Map<string, EndpointInput> | undefined {
  const svc = index.service(q.namespace, q.name);
  if (!svc) return undefined;
  let candidates: Candidate[] = [];
  for (const slice of index.slicesOf(q.namespace, q.name)) {
    const target = slicePort(svc, slice, q.port);
    for (const e of slice.endpoints) {
      if (!e.ready) continue;
      if (q.instance !== undefined && (e.hostname ?? e.podName) !== q.instance) continue;
      let port: number | undefined = typeof target === 'number' ? target : undefined;
      if (port === undefined && typeof target === 'string' && e.podName) {
        port = index.pod(q.namespace, e.podName)?.containerPorts.find((p) => p.name === target)?.port;
      }
      if (port === undefined) continue;
      for (const ip of e.addresses) {
        if (!cfg.enableIPv6 && ip.includes(':')) continue;
        candidates.push({ ip, port, endpoint: e });
      }
    }
  }
  if (cfg.enableIPv6) {
    // Dual-stack pods appear in an IPv4 and an IPv6 slice: keep the IPv6 address.
    const v6Pods = new Set(candidates.filter((c) => c.ip.includes(':') && c.endpoint.podName).map((c) => c.endpoint.podName));
    candidates = candidates.filter((c) => c.ip.includes(':') || !c.endpoint.podName || !v6Pods.has(c.endpoint.podName));
  }
  if (svc.internalTrafficPolicyLocal) candidates = candidates.filter((c) => q.clientNode !== undefined && c.endpoint.nodeName === q.clientNode);
  const clientZone = index.nodeZone(q.clientNode);
  if (clientZone && candidates.length > 0 && candidates.every((c) => c.endpoint.zoneHints && c.endpoint.zoneHints.length > 0)) {
    const local = candidates.filter((c) => c.endpoint.zoneHints?.includes(clientZone));
    if (local.length > 0) candidates = local;
  }
  const out = new Map<string, EndpointInput>();
  for (const c of candidates) {
    const pod = c.endpoint.podName ? index.pod(q.namespace, c.endpoint.podName) : undefined;
    const k = c.ip.includes(':') ? `[${c.ip}]:${c.port}` : `${c.ip}:${c.port}`;
    out.set(k, { ip: c.ip, port: c.port, pod, zone: c.endpoint.zone, clientZone });
  }
  return out;
}
