// Server spans for a control-plane gRPC server (identity, destination), as Linkerd's Go controllers make them with
// OpenTelemetry's gRPC instrumentation when started with -trace-collector: one SERVER span per call, named
// `package.Service/Method`, child of the caller's W3C context when there is one (a new trace otherwise), exported
// through OpenTelemetry's trace SDK (BatchSpanProcessor) and OTLP/gRPC to the collector. Off unless a collector is
// given. Kept out of the package index: only the processes that trace import it.
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, AlwaysOnSampler, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { credentials, ServerInterceptingCall, type Metadata, type ServerInterceptor } from '@grpc/grpc-js';
import { hostname } from 'node:os';

export interface GrpcTracing {
  /** Add to the server's `interceptors` option. */
  readonly interceptor: ServerInterceptor;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface GrpcTracingOptions {
  /** host:port of the collector's OTLP gRPC receiver. */
  readonly collector: string;
  /** Resource `service.name` (Linkerd's controllers use their component name, e.g. linkerd-destination). */
  readonly serviceName: string;
  /** Where spans go instead of the collector (tests read them back from an in-memory exporter). */
  readonly exporter?: SpanExporter;
}

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const v = md.get(key);
    return v.length === 0 ? undefined : v.map(String);
  },
};

const w3c = new W3CTraceContextPropagator();

/** `-trace-collector` as Linkerd's controllers take it: host:port; "" means off. Throws naming the flag. */
export function parseTraceCollector(flag: string, value: string): string | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) > 65535) {
    throw new Error(`invalid value ${JSON.stringify(value)} for ${flag}: expected host:port of an OTLP gRPC collector`);
  }
  return v;
}

export function createGrpcTracing(o: GrpcTracingOptions): GrpcTracing {
  const exporter = o.exporter ?? new OTLPTraceExporter({ url: `http://${o.collector}`, credentials: credentials.createInsecure() });
  const provider = new TracerProvider({
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    resource: resourceFromAttributes({ 'service.name': o.serviceName, 'host.name': hostname(), 'process.pid': process.pid }),
    spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 1000, maxExportBatchSize: 100, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('trellis-grpc-server');
  const interceptor: ServerInterceptor = (method, call) => {
    // "/io.linkerd.proxy.destination.Destination/Get" → service and method.
    const path = method.path.replace(/^\//, '');
    const slash = path.lastIndexOf('/');
    const service = path.slice(0, slash);
    const name = path.slice(slash + 1);
    let span: ReturnType<typeof tracer.startSpan> | undefined;
    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (md, mdNext) => {
            const parent = w3c.extract(ROOT_CONTEXT, md, metadataGetter);
            span = tracer.startSpan(path, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': name } }, parent);
            context.with(trace.setSpan(parent, span), () => mdNext(md));
          },
          onCancel: () => {
            // The client went away before a status was sent (a proxy's watch stream ending, for one).
            span?.setStatus({ code: SpanStatusCode.ERROR, message: 'cancelled' });
            span?.end();
            span = undefined;
          },
        });
      },
      sendStatus: (status, next) => {
        if (span) {
          span.setAttribute('rpc.grpc.status_code', status.code);
          if (status.code !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: status.details ?? '' });
          span.end();
          span = undefined;
        }
        next(status);
      },
    });
  };
  return { interceptor, flush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}
