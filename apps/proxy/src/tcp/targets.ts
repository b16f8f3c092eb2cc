// Per-target state found once per connection: rendered labels and the pre-bound metric series.
import { tlsAcceptLabels, type TlsAccept } from '../tls/labels.ts';
import { makeTarget, type Direction, type EndpointMetrics, type ProxyMetrics, type Target, type TcpMetrics } from '../metrics/proxy-metrics.ts';

export interface ServerMeta {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

export interface TargetEntry {
  readonly target: Target;
  readonly endpoint: EndpointMetrics;
  /** Connections the proxy accepted for this target (peer="src"). */
  readonly srcTcp: TcpMetrics;
  /** Connections the proxy opened to it (peer="dst"). */
  readonly dstTcp: TcpMetrics;
  /** The verified client identity of a meshed inbound connection (l5d-client-id); undefined otherwise. */
  readonly clientId?: string;
  lastUsed: number;
}

export class TargetCache {
  private readonly entries = new Map<string, TargetEntry>();
  private readonly metrics: ProxyMetrics;
  private readonly policy: string;
  private readonly now: () => number;
  constructor(metrics: ProxyMetrics, policy: string, now: () => number = Date.now) {
    this.metrics = metrics;
    this.policy = policy;
    this.now = now;
  }

  /**
   * `tls`: how an inbound connection arrived (meshed, passed-through TLS); plaintext when absent. `srv`: the
   * Server of the inbound port's policy (srv_* labels); the default policy when absent.
   */
  get(direction: Direction, ip: string, port: number, opaque: boolean, tls?: TlsAccept, srv?: ServerMeta): TargetEntry {
    const tlsKey = tls === undefined ? '' : tls.kind === 'meshed' ? `m:${tls.clientId}` : tls.kind === 'passthrough' ? `p:${tls.sni ?? ''}` : `n:${tls.reason}`;
    const srvKey = srv === undefined ? '' : `${srv.group}|${srv.kind}|${srv.name}`;
    const key = `${direction}|${opaque ? 'o' : 'd'}|${ip}|${port}|${tlsKey}|${srvKey}`;
    let e = this.entries.get(key);
    if (!e) {
      const target = makeTarget({ direction, ip, port, opaque, policy: this.policy, ...(tls ? { tls: tlsAcceptLabels(tls) } : {}), ...(srv ? { srv } : {}) });
      e = {
        ...(tls?.kind === 'meshed' && tls.clientId ? { clientId: tls.clientId } : {}),
        target,
        endpoint: this.metrics.endpoint(target.httpLabels),
        srcTcp: this.metrics.tcpFor(target.serverLabels, 'src'),
        dstTcp: this.metrics.tcpFor(target.clientLabels, 'dst'),
        lastUsed: 0,
      };
      this.entries.set(key, e);
    }
    e.lastUsed = this.now();
    return e;
  }

  /** Forgets targets unused for `retainMs`; their series stay until the metric sweep evicts them. */
  sweep(now: number, retainMs: number): void {
    for (const [k, e] of this.entries) if (now - e.lastUsed >= retainMs) this.entries.delete(k);
  }

  size(): number {
    return this.entries.size;
  }
}
