// Metrics of the endpoints a meshed outbound request or connection actually reaches (docs/reference/linkerd-contracts.md §9.2, "outbound
// endpoint"): `direction="outbound"`, `authority` when discovered by name, `target_addr/ip/port` of the endpoint, the TLS connect labels (`tls="true",
// server_id` when discovery gave it an identity), then its Destination metric labels prefixed with dst_.
// The forward path keeps the original destination's labels (metrics/proxy-metrics.ts makeTarget).
import type { Socket } from 'node:net';
import type { Endpoint } from '../discovery/endpoints.ts';
import { labelText } from '../metrics/families.ts';
import { formatAddr, type EndpointMetrics, type ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { connectFor, tlsConnectLabels } from '../tls/labels.ts';

/** Label names must match [a-zA-Z_][a-zA-Z0-9_]*; Destination's keys normally do already. */
function labelName(k: string): string {
  return `dst_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** The label string of an outbound endpoint; `local`: one of this pod's own IPs (no TLS, loopback). */
export function outboundEndpointLabels(e: Pick<Endpoint, 'ip' | 'port' | 'identity' | 'labels' | 'authority'>, local: boolean): string {
  const dst: Record<string, string> = {};
  for (const k of Object.keys(e.labels).sort()) dst[labelName(k)] = e.labels[k] as string;
  return labelText({
    direction: 'outbound',
    // The logical name the endpoint was discovered by, as Linkerd labels it (viz groups by it: `stat authority`).
    ...(e.authority ? { authority: e.authority } : {}),
    target_addr: formatAddr(e.ip, e.port),
    target_ip: e.ip,
    target_port: String(e.port),
    ...tlsConnectLabels(connectFor(e, local)),
    ...dst,
  });
}

/**
 * The series of each endpoint. Labels are rendered once per endpoint (Endpoint objects are replaced when they
 * change); the series are looked up by them on each use, so a bundle the metric sweep evicted is made afresh.
 */
export class OutboundEndpointMetrics {
  readonly #metrics: ProxyMetrics;
  readonly #isLocal: (ip: string) => boolean;
  readonly #labels = new WeakMap<Endpoint, string>();

  constructor(metrics: ProxyMetrics, isLocal: (ip: string) => boolean) {
    this.#metrics = metrics;
    this.#isLocal = isLocal;
  }

  #labelsOf(e: Endpoint): string {
    let l = this.#labels.get(e);
    if (l === undefined) this.#labels.set(e, (l = outboundEndpointLabels(e, this.#isLocal(e.ip))));
    return l;
  }

  /** request_total, response_total, response_latency_ms of requests sent to `e`. */
  http(e: Endpoint): EndpointMetrics {
    return this.#metrics.endpoint(this.#labelsOf(e));
  }

  /** Counts a connection opened to `e` (tcp_open_total and friends, peer="dst"). */
  track(e: Endpoint, socket: Socket): void {
    this.#metrics.tcpFor(this.#labelsOf(e), 'dst').track(socket);
  }
}
