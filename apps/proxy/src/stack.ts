// What both directions share in shape: HTTP layers, the HTTP/1 and HTTP/2 servers, pools and routing deps.
import type { Server as HttpServer } from 'node:http';
import type { ProxyConfig, DirectionConfig } from './config.ts';
import type { Drain } from './drain.ts';
import { drainHttp1 } from './drain.ts';
import { compose, forwardExchange, type HttpLayer } from './http/exchange.ts';
import { createH1Server } from './http/h1.ts';
import { createH2Server, type H2Server } from './http/h2.ts';
import { countRequests, rescue, shedLoad } from './http/layers.ts';
import { createPools } from './http/pool.ts';
import type { Direction as Dir, ProxyMetrics } from './metrics/proxy-metrics.ts';
import type { RouteDeps } from './tcp/accept.ts';
import { tapLayer } from './tap/layer.ts';
import type { TapRegistry } from './tap/registry.ts';
import type { SpanSink } from './trace/exporter.ts';
import { tracingLayer } from './trace/layer.ts';
import { OpaqueMemory } from './tcp/opaque-memory.ts';
import type { TargetCache } from './tcp/targets.ts';

export interface SharedParts {
  readonly metrics: ProxyMetrics;
  readonly targets: TargetCache;
  readonly drain: Drain;
  readonly onRefused: (direction: Dir, err: Error) => void;
  /** The open taps; every HTTP request of both directions passes the tap layer. */
  readonly taps: TapRegistry;
  /** Where spans go when tracing is on (LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR); undefined: no tracing stage. */
  readonly spans?: SpanSink | undefined;
}

/** One direction's HTTP servers (registered with the drain) and what routing a connection needs. */
export interface DirectionStack {
  readonly h1: HttpServer;
  readonly h2: H2Server;
  readonly routeDeps: RouteDeps;
}

/** `layers` run after load shedding and before requests are counted (inbound: policy, which picks their series). */
export function buildDirection(direction: Dir, dc: DirectionConfig, cfg: ProxyConfig, shared: SharedParts, layers: readonly HttpLayer[] = []): DirectionStack {
  const ctx = {
    metrics: shared.metrics,
    connectTimeoutMs: dc.connectTimeoutMs,
    clientIdHeader: direction === 'inbound' && !cfg.plaintext,
    respond: {
      direction,
      proxyName: cfg.proxyName,
      // Inbound sets l5d-proxy-error only for meshed peers with a client id, decided per exchange (synthesize's meshedPeer).
      informational: direction === 'outbound' ? cfg.outboundInformationalHeaders : false,
      identify: direction === 'outbound' ? cfg.outboundInformationalHeaders : true,
    },
  };
  // Tracing sits with the tap, before load shedding and policy: a refused request still gets its span.
  const tracing = shared.spans ? [tracingLayer(shared.spans, direction)] : [];
  const handler = compose(rescue, tapLayer(shared.taps, direction), ...tracing, shedLoad(dc.maxInFlight), ...layers, countRequests)(forwardExchange);
  const pools = createPools({ idleTimeoutMs: dc.http1PoolIdleTimeoutMs, maxIdle: dc.maxIdleConnsPerEndpoint, connectTimeoutMs: dc.connectTimeoutMs });
  const h1 = createH1Server({ ctx, pools, handler, headerReadTimeoutMs: cfg.http1HeaderReadTimeoutMs, isDraining: () => shared.drain.isDraining });
  const h2 = createH2Server({
    ctx,
    pools,
    handler,
    initialStreamWindowSize: cfg.http2InitialStreamWindowSize,
    initialConnectionWindowSize: cfg.http2InitialConnectionWindowSize,
    keepAliveIntervalMs: dc.h2KeepAliveIntervalMs,
    keepAliveTimeoutMs: dc.h2KeepAliveTimeoutMs,
  });
  shared.drain.add(drainHttp1(h1));
  shared.drain.add(h2);
  const memory = new OpaqueMemory(cfg.opaqueMemoryTtlMs, cfg.opaqueMemoryMax, shared.metrics.rememberedOpaque.child(`direction="${direction}"`));
  const routeDeps: RouteDeps = {
    direction,
    metrics: shared.metrics,
    onRefused: shared.onRefused,
    targets: shared.targets,
    opaquePorts: dc.opaquePorts,
    memory,
    detectTimeoutMs: dc.detectTimeoutMs,
    connectTimeoutMs: dc.connectTimeoutMs,
    h1,
    h2: h2.server,
    track: (s) => shared.drain.track(s),
  };
  return { h1, h2, routeDeps };
}
