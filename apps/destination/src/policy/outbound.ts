// Outbound policies (contracts §4): a Service port gets its default backend (P2C peak-EWMA over
// Destination.Get of the service authority, queue 100 / failfast 3 s) behind the default http, grpc or
// opaque route; an address outside the cluster gets the egress fallback that forwards to it; a Service
// port that does not exist gets the undefined-port policy, which forbids the traffic.
import { durationFromMillis, type destination, type httpRoute as hr, type metadata, type net, type outbound } from '@trellis/proto';
import type { DestinationConfig } from '../config.ts';
import { resource, serviceFqn, serviceOpaque } from '../discovery/profile.ts';
import type { ClusterIndex } from '../index/cluster-index.ts';
import type { ServiceRecord } from '../index/model.ts';
import { failureAccrual, grpcRetry, httpRetry, timeouts as toTimeouts } from './annotations.ts';
import { DETECT_TIMEOUT_MS } from './inbound.ts';
import { outboundGrpcRoute, outboundHttpRoute, routesFor, type RouteContext } from './outbound-routes.ts';

export const QUEUE: outbound.Queue = { capacity: 100, failfastTimeout: durationFromMillis(3_000) };
const PEAK_EWMA: outbound.Backend_BalanceP2c_PeakEwma = { defaultRtt: durationFromMillis(30), decay: durationFromMillis(10_000) };

const defaultMeta = (name: string): metadata.Metadata => ({ kind: { $case: 'default', value: name } });
const PREFIX_ALL = { path: { kind: { $case: 'prefix' as const, value: '/' } }, headers: [], queryParams: [], method: undefined };

/** Retry and timeouts of a default route (from the Service's annotations). */
interface DefaultRouteConfig {
  readonly retry?: outbound.HttpRoute_Retry | undefined;
  readonly timeouts?: hr.Timeouts | undefined;
  readonly allowL5dRequestHeaders?: boolean;
}

function httpRoute(name: string, backend: outbound.Backend, filters: outbound.HttpRoute_Filter[] = [], conf: DefaultRouteConfig = {}): outbound.HttpRoute {
  return {
    metadata: defaultMeta(name),
    hosts: [],
    rules: [
      {
        matches: [PREFIX_ALL],
        filters,
        backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend, filters: [], requestTimeout: undefined }] } } },
        // Older proxies read the deprecated field; Linkerd fills it with the request timeout.
        requestTimeout: conf.timeouts?.request,
        timeouts: conf.timeouts,
        retry: conf.retry,
        allowL5dRequestHeaders: conf.allowL5dRequestHeaders ?? false,
      },
    ],
  };
}

function grpcRoute(backend: outbound.Backend, retry: outbound.GrpcRoute_Retry | undefined, timeouts: hr.Timeouts, allowL5dRequestHeaders: boolean): outbound.GrpcRoute {
  return {
    metadata: defaultMeta('grpc'),
    hosts: [],
    rules: [
      {
        matches: [],
        filters: [],
        backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend, filters: [], requestTimeout: undefined }] } } },
        requestTimeout: timeouts.request,
        timeouts,
        retry,
        allowL5dRequestHeaders,
      },
    ],
  };
}

function opaqueRoute(name: string, backend: outbound.Backend, filters: outbound.OpaqueRoute_Filter[] = []): outbound.OpaqueRoute {
  return {
    metadata: defaultMeta(name),
    rules: [{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend, filters: [] }] } } }, filters }],
  };
}

function detect(opaque: outbound.OpaqueRoute, http: outbound.HttpRoute[], accrual: outbound.FailureAccrual | undefined = undefined): outbound.ProxyProtocol {
  return {
    kind: {
      $case: 'detect',
      value: {
        timeout: durationFromMillis(DETECT_TIMEOUT_MS),
        opaque: { routes: [opaque] },
        http1: { routes: http, failureAccrual: accrual },
        http2: { routes: http, failureAccrual: accrual },
      },
    },
  };
}

/** P2C peak-EWMA over Destination.Get of `<name>.<ns>.svc.<cluster-domain>:<port>`. */
export function serviceBackend(cfg: DestinationConfig, svc: { namespace: string; name: string }, port: number): outbound.Backend {
  return {
    metadata: resource('core', 'Service', svc.name, svc.namespace, port),
    queue: QUEUE,
    kind: {
      $case: 'balancer',
      value: { discovery: { kind: { $case: 'dst', value: { path: `${serviceFqn(cfg, svc)}:${port}` } } }, load: { $case: 'peakEwma', value: PEAK_EWMA } },
    },
  };
}

/**
 * The policy of a Service port (the port must exist; see undefinedPortPolicy) for a client in `sourceNs`.
 * Routes attached to the port replace the default route; gRPC routes (or appProtocol grpc) make it gRPC.
 */
export function servicePolicy(cfg: DestinationConfig, index: ClusterIndex, svc: ServiceRecord, port: number, sourceNs: string | undefined): outbound.OutboundPolicy {
  const backend = serviceBackend(cfg, svc, port);
  const metadata = resource('core', 'Service', svc.name, svc.namespace, port);
  const sp = svc.ports.find((p) => p.port === port);
  if (serviceOpaque(cfg, svc, port)) return { metadata, protocol: { kind: { $case: 'opaque', value: { routes: [opaqueRoute('opaq', backend)] } } } };
  const ann = svc.outbound;
  const accrual = failureAccrual(ann.accrual);
  const timeouts = toTimeouts(ann.timeouts);
  const routes = routesFor(index, svc, port, sourceNs);
  const allowL5dRequestHeaders = cfg.allowL5dRequestHeaders;
  const ctx: RouteContext = { index, svc, defaultBackend: backend, balancer: (ns, name, p) => serviceBackend(cfg, { namespace: ns, name }, p), queue: QUEUE, allowL5dRequestHeaders };
  if (sp?.appProtocol.toLowerCase() === 'grpc' || routes.grpc.length > 0) {
    const grpc = routes.grpc.length > 0 ? routes.grpc.map((r) => outboundGrpcRoute(ctx, r)) : [grpcRoute(backend, grpcRetry(ann.grpcRetry), timeouts, allowL5dRequestHeaders)];
    return { metadata, protocol: { kind: { $case: 'grpc', value: { routes: grpc, failureAccrual: accrual } } } };
  }
  const http = routes.http.length > 0 ? routes.http.map((r) => outboundHttpRoute(ctx, r)) : [httpRoute('http', backend, [], { retry: httpRetry(ann.httpRetry), timeouts, allowL5dRequestHeaders })];
  return { metadata, protocol: detect(opaqueRoute('opaq', backend), http, accrual) };
}

function forwardBackend(name: string, addr: net.TcpAddress): outbound.Backend {
  const endpoint: destination.WeightedAddr = {
    addr,
    weight: 1,
    metricLabels: {},
    tlsIdentity: undefined,
    protocolHint: undefined,
    authorityOverride: undefined,
    http2: undefined,
    resourceRef: undefined,
  };
  return { metadata: defaultMeta(name), queue: QUEUE, kind: { $case: 'forward', value: endpoint } };
}

/** Traffic to an address outside the cluster: forwarded to the original destination. */
export function egressFallbackPolicy(addr: net.TcpAddress): outbound.OutboundPolicy {
  const backend = forwardBackend('egress-fallback', addr);
  return { metadata: defaultMeta('egress-fallback'), protocol: detect(opaqueRoute('egress-fallback', backend), [httpRoute('egress-fallback', backend)]) };
}

/** A Service port the Service does not declare: nothing is routed there. */
export function undefinedPortPolicy(svc: ServiceRecord, port: number): outbound.OutboundPolicy {
  const backend: outbound.Backend = { metadata: resource('core', 'Service', svc.name, svc.namespace, port), queue: QUEUE, kind: undefined };
  const forbidden: outbound.OpaqueRoute_Filter = { kind: { $case: 'forbidden', value: {} } };
  const fail: outbound.HttpRoute_Filter = {
    kind: { $case: 'failureInjector', value: { status: 403, message: `port ${port} is not defined on Service ${svc.name}.${svc.namespace}`, ratio: undefined } },
  };
  return {
    metadata: defaultMeta('undefined-port'),
    protocol: detect(opaqueRoute('undefined-port', backend, [forbidden]), [httpRoute('undefined-port', backend, [fail])]),
  };
}
