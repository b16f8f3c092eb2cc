// Where the proxy's spans go: OpenTelemetry's trace SDK with a BatchSpanProcessor (a bounded queue, exported in
// batches off the request path), encoded as OTLP by OpenTelemetry's transformer and sent over gRPC to
// LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR. Meshed, the collector is reached over mTLS as
// LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME with our current certificate (a new client when the certificate changes). Spans that cannot be kept, because the queue is full or the
// collector failed the export, are counted; requests never wait for the collector.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, TracerProvider, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { CONTROL_CHANNEL_OPTIONS, controlChannelCredentials } from '../identity/control-tls.ts';
import type { CredentialSource } from '../tls/mesh-tls.ts';
import type { TraceConfig } from './config.ts';

export interface ExportLimits {
  /** Spans waiting to be exported; past this, new spans are dropped (and counted). */
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduledDelayMs: number;
  readonly exportTimeoutMs: number;
}

/** As the control-plane clients: quick reconnects and re-resolution; no keepalive pings between batches. */
const CHANNEL_OPTIONS = {
  'grpc.dns_min_time_between_resolutions_ms': CONTROL_CHANNEL_OPTIONS['grpc.dns_min_time_between_resolutions_ms'],
  'grpc.initial_reconnect_backoff_ms': CONTROL_CHANNEL_OPTIONS['grpc.initial_reconnect_backoff_ms'],
  'grpc.max_reconnect_backoff_ms': CONTROL_CHANNEL_OPTIONS['grpc.max_reconnect_backoff_ms'],
  'grpc.enable_channelz': 0,
} as const;

export const DEFAULT_EXPORT_LIMITS: ExportLimits = { maxQueueSize: 1000, maxExportBatchSize: 100, scheduledDelayMs: 1000, exportTimeoutMs: 10_000 };

/**
 * The proxy's span for one request: its id goes onward as the parent; ended when the exchange finishes. Times are
 * performance.now() readings: the span's start and end come from one monotonic clock (the SDK would anchor each
 * span on Date.now(), whose millisecond steps can put a child's start before its parent's within one process).
 */
export interface HopSpan {
  readonly spanId: string;
  end(attributes: Attributes, failed: boolean): void;
}

export interface SpanSink {
  /** Starts the hop's span as a child of the caller's span (`traceId`/`parentSpanId`, sampled). */
  start(kind: 'server' | 'client', name: string, traceId: string, parentSpanId: string, attributes: Attributes, startedAt: number): HopSpan;
  /** Exports what is queued (tests, drain). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface SinkDeps {
  readonly registry: Registry;
  readonly log: Pick<Logger, 'warn' | 'info'>;
  /** Meshed: our certificates and the trust anchors, for mTLS to the collector. */
  readonly mesh?: { readonly source: CredentialSource; readonly trustAnchorsPem: string };
  readonly limits?: ExportLimits;
}

class TraceMetrics {
  readonly dropped: Counter<'reason'>;
  readonly exported: Counter;
  constructor(registry: Registry) {
    this.dropped = new Counter({
      name: 'trace_spans_dropped_total',
      help: 'Spans not delivered to the trace collector: the export queue was full, or the collector failed the export.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.exported = new Counter({ name: 'trace_spans_exported_total', help: 'Spans the trace collector accepted.', registers: [registry] });
  }
}

const raw = (b: Buffer): Buffer => b;

/** OTLP's TraceService/Export as a raw-bytes gRPC client: the request is encoded by OpenTelemetry's transformer. */
const TraceServiceClient = makeGenericClientConstructor(
  {
    export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  },
  'TraceService',
);
type TraceService = InstanceType<typeof TraceServiceClient> & {
  export(req: Buffer, opts: { deadline: number }, cb: (err: ServiceError | null, res?: Buffer) => void): void;
};

/**
 * Sends batches to the collector and counts what it accepted or refused. The OTLP request is OpenTelemetry's
 * protobuf encoding (otlp-transformer); the connection is ours, built as the control-plane clients' are: meshed,
 * mTLS with our current certificate, the collector's identity checked and sent as the TLS server name (so a meshed
 * collector's inbound proxy terminates it), a new client when the certificate changes; plaintext otherwise.
 * `taken` tells the processor in front how many queued spans left its queue.
 */
class CollectorExporter implements SpanExporter {
  readonly #cfg: TraceConfig;
  readonly #deps: SinkDeps;
  readonly #metrics: TraceMetrics;
  readonly #taken: (n: number) => void;
  #current: { generation: number; client: TraceService } | undefined;
  #failing = false;

  constructor(cfg: TraceConfig, deps: SinkDeps, metrics: TraceMetrics, taken: (n: number) => void) {
    this.#cfg = cfg;
    this.#deps = deps;
    this.#metrics = metrics;
    this.#taken = taken;
  }

  #client(): TraceService | undefined {
    const addr = this.#cfg.collector.text;
    const mesh = this.#deps.mesh;
    const name = this.#cfg.collectorName;
    if (mesh === undefined || name === undefined) {
      this.#current ??= { generation: 0, client: new TraceServiceClient(addr, credentials.createInsecure(), CHANNEL_OPTIONS) as TraceService };
      return this.#current.client;
    }
    const creds = mesh.source.current();
    if (creds === undefined) return undefined;
    if (this.#current?.generation !== creds.generation) {
      this.#current?.client.close();
      const channel = controlChannelCredentials(mesh.trustAnchorsPem, name, creds.tls);
      const client = new TraceServiceClient(addr, channel, { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': name, 'grpc.default_authority': addr }) as TraceService;
      this.#current = { generation: creds.generation, client };
    }
    return this.#current.client;
  }

  #failed(n: number, why: string): void {
    this.#metrics.dropped.inc({ reason: 'export_failed' }, n);
    // Logged when the collector starts failing, not for every batch.
    if (!this.#failing) this.#deps.log.warn({ collector: this.#cfg.collector.text, err: why }, 'trace collector failed an export; spans dropped');
    this.#failing = true;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.#taken(spans.length);
    const client = this.#client();
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    if (client === undefined || body === undefined) {
      const why = client === undefined ? 'no certificate yet for mTLS to the trace collector' : 'spans could not be encoded';
      this.#failed(spans.length, why);
      done({ code: ExportResultCode.FAILED, error: new Error(why) });
      return;
    }
    const timeout = (this.#deps.limits ?? DEFAULT_EXPORT_LIMITS).exportTimeoutMs;
    client.export(Buffer.from(body), { deadline: Date.now() + timeout }, (err) => {
      if (err) {
        this.#failed(spans.length, err.message);
        done({ code: ExportResultCode.FAILED, error: err });
        return;
      }
      this.#metrics.exported.inc(spans.length);
      if (this.#failing) this.#deps.log.info({ collector: this.#cfg.collector.text }, 'trace collector reachable again');
      this.#failing = false;
      done({ code: ExportResultCode.SUCCESS });
    });
  }

  async shutdown(): Promise<void> {
    this.#current?.client.close();
  }
}

/** In front of the BatchSpanProcessor: counts a span dropped when the queue is full instead of letting it vanish. */
class CountingProcessor implements SpanProcessor {
  readonly #inner: BatchSpanProcessor;
  readonly #max: number;
  readonly #metrics: TraceMetrics;
  queued = 0;
  constructor(inner: BatchSpanProcessor, max: number, metrics: TraceMetrics) {
    this.#inner = inner;
    this.#max = max;
    this.#metrics = metrics;
  }
  onStart(): void {
    // Nothing to do when a span starts.
  }
  onEnd(span: ReadableSpan): void {
    if (this.queued >= this.#max) {
      this.#metrics.dropped.inc({ reason: 'queue_full' });
      return;
    }
    this.queued++;
    this.#inner.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

export function createSpanSink(cfg: TraceConfig, deps: SinkDeps): SpanSink {
  const limits = deps.limits ?? DEFAULT_EXPORT_LIMITS;
  const metrics = new TraceMetrics(deps.registry);
  let counting: CountingProcessor | undefined = undefined;
  const exporter = new CollectorExporter(cfg, deps, metrics, (n) => {
    if (counting) counting.queued = Math.max(0, counting.queued - n);
  });
  const batch = new BatchSpanProcessor({
    exporter,
    maxQueueSize: limits.maxQueueSize,
    maxExportBatchSize: limits.maxExportBatchSize,
    scheduledDelayMillis: limits.scheduledDelayMs,
    exportTimeoutMillis: limits.exportTimeoutMs,
  });
  counting = new CountingProcessor(batch, limits.maxQueueSize, metrics);
  const provider = new TracerProvider({
    // The proxy makes spans only for sampled requests: the caller decided.
    sampler: new AlwaysOnSampler(),
    resource: resourceFromAttributes({ 'process.pid': process.pid, 'host.name': hostname(), ...cfg.attributes }),
    spanProcessors: [counting],
  });
  const tracer = provider.getTracer('linkerd-proxy');
  return {
    start(kind, name, traceId, parentSpanId, attributes, startedAt) {
      const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });
      const startTime = performance.timeOrigin + startedAt;
      const span: Span = tracer.startSpan(name, { kind: kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT, attributes, startTime }, parent) as Span;
      return {
        spanId: span.spanContext().spanId,
        end(more, failed) {
          span.setAttributes(more);
          if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end(performance.timeOrigin + performance.now());
        },
      };
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
