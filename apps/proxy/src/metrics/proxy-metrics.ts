// Linkerd's legacy proxy metric families (docs/reference/linkerd-contracts.md §9.2): names, label names and order, latency buckets.
// Label strings are rendered once per target; requests and connections only touch pre-bound children.
import type { Socket } from 'node:net';
import { CounterFamily, GaugeFamily, HistogramFamily, joinLabels, labelText, type CounterChild, type GaugeChild, type HistogramChild, type Family } from './families.ts';

export type Direction = 'inbound' | 'outbound';

export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000,
] as const;

/** Where a connection or request goes, with its labels rendered once. */
export interface Target {
  readonly direction: Direction;
  readonly ip: string;
  readonly port: number;
  /** host:port, or [v6]:port, for messages. */
  readonly addr: string;
  /** `direction,target_addr,target_ip,target_port,tls...` for the accepted side (peer="src"). */
  readonly serverLabels: string;
  /** Labels of the HTTP endpoint metrics (request_total and friends). */
  readonly httpLabels: string;
  /** Labels for the connection the proxy opens to the target (peer="dst"). */
  readonly clientLabels: string;
  /** Inbound: the pieces inbound_*_authz_* series are assembled from (target_*, tls..., srv_*). */
  readonly policyParts?: { readonly target: string; readonly tls: string; readonly srv: string };
}

export interface TargetOptions {
  readonly direction: Direction;
  readonly ip: string;
  readonly port: number;
  /** true when the port is opaque and detection was skipped (inbound TLS label port_skipped). */
  readonly opaque?: boolean;
  /** Inbound default policy name, for the srv_/authz_ labels. */
  readonly policy?: string;
  /** Inbound: the Server the port's policy came from (srv_group, srv_kind, srv_name); overrides `policy`. */
  readonly srv?: { readonly group: string; readonly kind: string; readonly name: string };
  /** Inbound TLS labels of the accepted connection (tls/labels.ts tlsAcceptLabels); default: plaintext. */
  readonly tls?: Readonly<Record<string, string>>;
}

export function formatAddr(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Builds the label strings of a target (called once per new target, cached by the caller). */
export function makeTarget(o: TargetOptions): Target {
  const addr = formatAddr(o.ip, o.port);
  const base = labelText({ direction: o.direction });
  const target = labelText({ target_addr: addr, target_ip: o.ip, target_port: String(o.port) });
  if (o.direction === 'outbound') {
    // The original destination itself (plaintext mode, or a destination discovery does not know): plaintext,
    // "not provided by service discovery". Meshed endpoints have their own series (outbound/endpoint-metrics.ts).
    const tls = labelText({ tls: 'no_identity', no_tls_reason: 'not_provided_by_service_discovery' });
    const http = [base, target, tls].join(',');
    // The accepted side (peer="src") is always the app on this pod: loopback, as Linkerd labels it.
    const src = [base, target, labelText({ tls: 'no_identity', no_tls_reason: 'loopback' })].join(',');
    return { direction: o.direction, ip: o.ip, port: o.port, addr, httpLabels: http, serverLabels: src, clientLabels: http };
  }
  const policy = o.policy ?? 'all-unauthenticated';
  const tls = labelText(o.tls ?? { tls: 'no_identity', no_tls_reason: o.opaque ? 'port_skipped' : 'no_tls_from_remote' });
  const srvMeta = o.srv ?? { group: '', kind: 'default', name: policy };
  const srv = labelText({ srv_group: srvMeta.group, srv_kind: srvMeta.kind, srv_name: srvMeta.name, srv_port: String(o.port) });
  const route = labelText({ route_group: '', route_kind: 'default', route_name: 'default' });
  const authz = labelText({ authz_group: '', authz_kind: 'default', authz_name: policy });
  return {
    direction: o.direction,
    ip: o.ip,
    port: o.port,
    addr,
    httpLabels: [base, target, tls, srv, route, authz].join(','),
    serverLabels: [base, target, tls, srv].join(','),
    clientLabels: [base, target, labelText({ tls: 'no_identity', no_tls_reason: 'loopback' })].join(','),
    policyParts: { target, tls, srv },
  };
}

export interface ResponseSeries {
  readonly total: CounterChild;
  readonly latency: HistogramChild;
}

/** The HTTP series of one endpoint, with response series cached by status. */
export class EndpointMetrics {
  private requestsChild: CounterChild | undefined;
  private readonly byStatus = new Map<string, ResponseSeries>();
  private readonly m: ProxyMetrics;
  private readonly labels: string;
  constructor(m: ProxyMetrics, labels: string) {
    this.m = m;
    this.labels = labels;
  }
  /** Made on first use: a meshed target whose requests are all counted under their endpoints shows no 0 series. */
  get requests(): CounterChild {
    return (this.requestsChild ??= this.m.requestTotal.child(this.labels));
  }
  /** True once every series of this endpoint has been evicted. */
  evicted(): boolean {
    if (this.requestsChild?.attached) return false;
    for (const [k, s] of this.byStatus) {
      if (s.total.attached || s.latency.attached) return false;
      this.byStatus.delete(k);
    }
    return true;
  }

  /** `grpcStatus` -1 means not gRPC; `error` is Linkerd's error label ('' for none). */
  response(status: number, grpcStatus: number, error: string): ResponseSeries {
    const key = error === '' && grpcStatus < 0 ? String(status) : `${status}|${grpcStatus}|${error}`;
    let s = this.byStatus.get(key);
    if (!s) {
      const failure = error !== '' || status >= 500 || (grpcStatus >= 0 && GRPC_FAILURES.has(grpcStatus));
      const st = labelText({ status_code: status > 0 ? String(status) : '' });
      const cls = labelText({ classification: failure ? 'failure' : 'success', grpc_status: grpcStatus >= 0 ? String(grpcStatus) : '', error });
      s = {
        total: this.m.responseTotal.child(joinLabels(joinLabels(this.labels, st), cls)),
        latency: this.m.responseLatency.child(joinLabels(this.labels, st)),
      };
      this.byStatus.set(key, s);
    }
    return s;
  }
}

/** gRPC codes Linkerd classifies as failures: UNKNOWN, DEADLINE_EXCEEDED, PERMISSION_DENIED, INTERNAL, UNAVAILABLE, DATA_LOSS. */
export const GRPC_FAILURES: ReadonlySet<number> = new Set([2, 4, 7, 13, 14, 15]);

const kCounted = Symbol('trellis.tcpCounted');
interface Counted {
  [kCounted]?: { read: number; written: number };
}

interface TcpSeries {
  readonly open: CounterChild;
  readonly openConnections: GaugeChild;
  readonly read: CounterChild;
  readonly write: CounterChild;
}

/**
 * TCP series of one (direction, peer, target) label set. Bytes are taken from the socket's own counters. The
 * series are made at the first connection: a target whose connections all go elsewhere (meshed outbound
 * reaches endpoints, outbound/endpoint-metrics.ts) shows no 0 series.
 */
export class TcpMetrics {
  private series: TcpSeries | undefined;
  private readonly closes = new Map<string, CounterChild>();
  private readonly live = new Set<Socket>();
  private readonly m: ProxyMetrics;
  private readonly labels: string;
  constructor(m: ProxyMetrics, labels: string) {
    this.m = m;
    this.labels = labels;
    m.tcpSeries.add(this);
  }

  private bound(): TcpSeries {
    const m = this.m;
    const l = this.labels;
    return (this.series ??= { open: m.tcpOpenTotal.child(l), openConnections: m.tcpOpenConnections.child(l), read: m.tcpReadBytes.child(l), write: m.tcpWriteBytes.child(l) });
  }
  get open(): CounterChild {
    return this.bound().open;
  }
  get openConnections(): GaugeChild {
    return this.bound().openConnections;
  }
  get read(): CounterChild {
    return this.bound().read;
  }
  get write(): CounterChild {
    return this.bound().write;
  }

  /** Counts an open connection and, when it closes, its bytes and errno; `consumed`: bytes the proxy read for itself (a transport header). */
  track(socket: Socket, consumed = 0): void {
    this.open.inc();
    this.openConnections.inc();
    this.live.add(socket);
    // A bundle forgotten by the sweep but still held by a target comes back into the scrape.
    this.m.tcpSeries.add(this);
    (socket as Counted)[kCounted] = { read: consumed, written: 0 };
    let errno = '';
    // `on`, not `once`: this listener also keeps a second error on the socket from being unhandled.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (errno === '') errno = err.code ?? 'unknown';
    });
    socket.once('close', () => {
      this.flushOne(socket);
      this.live.delete(socket);
      this.openConnections.dec();
      this.closeChild(errno).inc();
    });
  }

  private closeChild(errno: string): CounterChild {
    let c = this.closes.get(errno);
    if (!c) {
      c = this.m.tcpCloseTotal.child(joinLabels(this.labels, labelText({ errno })));
      this.closes.set(errno, c);
    }
    return c;
  }

  private flushOne(socket: Socket): void {
    const counted = (socket as Counted)[kCounted];
    if (!counted) return;
    const r = socket.bytesRead;
    const w = socket.bytesWritten;
    if (r > counted.read) this.read.inc(r - counted.read);
    if (w > counted.written) this.write.inc(w - counted.written);
    counted.read = r;
    counted.written = w;
  }

  /** True once no connection is open and the series have been evicted. */
  evicted(): boolean {
    return this.live.size === 0 && (this.series === undefined || (!this.series.open.attached && !this.series.openConnections.attached));
  }

  /** Adds the bytes of open connections, so long-lived ones show progress on every scrape. */
  flush(): void {
    for (const s of this.live) this.flushOne(s);
  }
}

export class ProxyMetrics {
  readonly requestTotal = new CounterFamily('request_total', 'Total count of HTTP requests.');
  readonly responseTotal = new CounterFamily('response_total', 'Total count of HTTP responses.');
  readonly responseLatency = new HistogramFamily('response_latency_ms', 'Elapsed times between a request\'s headers being received and its response stream completing', LATENCY_BUCKETS_MS);
  readonly tcpOpenTotal = new CounterFamily('tcp_open_total', 'Total count of opened connections');
  readonly tcpCloseTotal = new CounterFamily('tcp_close_total', 'Total count of closed connections');
  readonly tcpOpenConnections = new GaugeFamily('tcp_open_connections', 'Number of currently-open connections');
  readonly tcpReadBytes = new CounterFamily('tcp_read_bytes_total', 'Total count of bytes read from peers');
  readonly tcpWriteBytes = new CounterFamily('tcp_write_bytes_total', 'Total count of bytes written to peers');
  readonly httpErrors = {
    inbound: new CounterFamily('inbound_http_errors_total', 'The total number of inbound HTTP requests that could not be processed due to a proxy error.'),
    outbound: new CounterFamily('outbound_http_errors_total', 'The total number of outbound HTTP requests that could not be processed due to a proxy error.'),
  };
  readonly tcpErrors = {
    inbound: new CounterFamily('inbound_tcp_errors_total', 'The total number of inbound TCP connections that could not be processed due to a proxy error.'),
    outbound: new CounterFamily('outbound_tcp_errors_total', 'The total number of outbound TCP connections that could not be processed due to a proxy error.'),
  };
  /** Trellis extension: every synthesized or connection-level error, by its stable code. */
  readonly errorsByCode = new CounterFamily('trellis_proxy_errors_total', 'Proxy errors by direction and stable TRELLIS_ERR code.');
  /** Trellis extension: server-speaks-first handling. */
  readonly detectTimeouts = new CounterFamily('trellis_detect_timeouts_total', 'Connections whose protocol detection timed out.');
  readonly rememberedOpaque = new GaugeFamily('trellis_detect_remembered_opaque_ports', 'Ports treated as opaque because detection timed out on them recently.');
  /** Inbound policy decisions (docs/reference/linkerd-contracts.md §9.2), counted by inbound/policy/metrics.ts. */
  readonly authz = {
    httpAllow: new CounterFamily('inbound_http_authz_allow_total', 'The total number of inbound HTTP requests that were authorized'),
    httpDeny: new CounterFamily('inbound_http_authz_deny_total', 'The total number of inbound HTTP requests that could not be processed due to a proxy error.'),
    httpRouteNotFound: new CounterFamily('inbound_http_route_not_found_total', 'The total number of inbound HTTP requests that could not be associated with a route'),
    httpRateLimited: new CounterFamily('inbound_http_local_ratelimit_total', 'The total number of inbound HTTP requests that were rate-limited'),
    tcpAllow: new CounterFamily('inbound_tcp_authz_allow_total', 'The total number of inbound TCP connections that were authorized'),
    tcpDeny: new CounterFamily('inbound_tcp_authz_deny_total', 'The total number of inbound TCP connections that were denied'),
    tcpTerminate: new CounterFamily('inbound_tcp_authz_terminate_total', 'The total number of inbound TCP connections that were terminated due to an authorization change'),
  };

  readonly tcpSeries = new Set<TcpMetrics>();
  private readonly endpoints = new Map<string, EndpointMetrics>();
  private readonly tcp = new Map<string, TcpMetrics>();
  private readonly errors = new Map<string, { label: CounterChild; code: CounterChild }>();

  private families(): Family<never>[] {
    return [
      this.requestTotal,
      this.responseTotal,
      this.responseLatency,
      this.tcpOpenTotal,
      this.tcpCloseTotal,
      this.tcpOpenConnections,
      this.tcpReadBytes,
      this.tcpWriteBytes,
      this.httpErrors.inbound,
      this.httpErrors.outbound,
      this.tcpErrors.inbound,
      this.tcpErrors.outbound,
      this.errorsByCode,
      this.detectTimeouts,
      this.rememberedOpaque,
      ...Object.values(this.authz),
    ] as unknown as Family<never>[];
  }

  endpoint(labels: string): EndpointMetrics {
    let e = this.endpoints.get(labels);
    if (!e) {
      e = new EndpointMetrics(this, labels);
      this.endpoints.set(labels, e);
    }
    return e;
  }

  tcpFor(labels: string, peer: 'src' | 'dst'): TcpMetrics {
    const key = `${peer}|${labels}`;
    let t = this.tcp.get(key);
    if (!t) {
      t = new TcpMetrics(this, injectPeer(labels, peer));
      this.tcp.set(key, t);
    }
    return t;
  }

  /** Counts an error under Linkerd's `error` label and under our stable code. */
  error(direction: Direction, protocol: 'http' | 'tcp', errorLabel: string, code: string): void {
    const key = `${direction}|${protocol}|${errorLabel}|${code}`;
    let e = this.errors.get(key);
    if (!e) {
      const family = protocol === 'http' ? this.httpErrors[direction] : this.tcpErrors[direction];
      e = {
        label: family.child(labelText({ error: errorLabel })),
        code: this.errorsByCode.child(labelText({ direction, protocol, code })),
      };
      this.errors.set(key, e);
    }
    e.label.inc();
    e.code.inc();
  }

  sweep(now: number, retainMs: number): void {
    for (const f of this.families()) f.sweep(now, retainMs);
    // Forget the bundles of targets whose series are all gone, so memory follows the live targets.
    for (const [k, e] of this.endpoints) if (e.evicted()) this.endpoints.delete(k);
    for (const [k, t] of this.tcp) {
      if (t.evicted()) {
        this.tcp.delete(k);
        this.tcpSeries.delete(t);
      }
    }
  }

  /** Bundles held, for tests and for the curious. */
  bundles(): { endpoints: number; tcp: number } {
    return { endpoints: this.endpoints.size, tcp: this.tcp.size };
  }

  render(): string {
    for (const t of this.tcpSeries) t.flush();
    let out = '';
    for (const f of this.families()) out += f.render();
    return out;
  }
}

/** TCP label sets put `peer` right after `direction`, as Linkerd does. */
function injectPeer(labels: string, peer: 'src' | 'dst'): string {
  const comma = labels.indexOf(',');
  const p = `peer="${peer}"`;
  return comma === -1 ? joinLabels(labels, p) : `${labels.slice(0, comma)},${p}${labels.slice(comma)}`;
}
