// An OTLP trace receiver for tests: a real gRPC server (@grpc/grpc-js) answering OpenTelemetry's
// TraceService/Export, decoding the protobuf the proxy's exporter sends (fixtures/otlp-trace.proto). It is not
// the OpenTelemetry Collector; it keeps the spans it received, flattened, for assertions.
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Record<string, string | number | boolean>;
  readonly status: string;
  readonly resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  readonly port: number;
  readonly spans: ReceivedSpan[];
  /** Export calls received (each a batch). */
  calls: number;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  value?: string;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface WireSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status?: { code: string };
}
interface ExportRequest {
  resourceSpans: { resource?: { attributes: KeyValue[] }; scopeSpans: { spans: WireSpan[] }[] }[];
}

function attrs(kvs: readonly KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value;
    if (v === undefined) continue;
    if (v.stringValue !== undefined) out[kv.key] = v.stringValue;
    else if (v.intValue !== undefined) out[kv.key] = Number(v.intValue);
    else if (v.boolValue !== undefined) out[kv.key] = v.boolValue;
    else if (v.doubleValue !== undefined) out[kv.key] = v.doubleValue;
  }
  return out;
}

const PROTO = fileURLToPath(new URL('./fixtures/otlp-trace.proto', import.meta.url));

/** TLS for the receiver: its certificate and key, and the trust anchors client certificates must chain to (mTLS). */
export interface ReceiverTls {
  readonly certPem: string;
  readonly keyPem: string;
  readonly trustAnchorsPem: string;
}

export async function startOtlpReceiver(tls?: ReceiverTls): Promise<OtlpReceiver> {
  const def = loader.loadSync(PROTO, { longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
  };
  const service = pkg.opentelemetry.proto.collector.trace.v1.TraceService.service;
  const server = new grpc.Server();
  const received: OtlpReceiver = {
    port: 0,
    spans: [],
    calls: 0,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(service, {
    Export: (call: grpc.ServerUnaryCall<ExportRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      received.calls++;
      for (const rs of call.request.resourceSpans) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            received.spans.push({
              traceId: s.traceId.toString('hex'),
              spanId: s.spanId.toString('hex'),
              parentSpanId: s.parentSpanId.toString('hex'),
              name: s.name,
              kind: s.kind,
              startNs: BigInt(s.startTimeUnixNano),
              endNs: BigInt(s.endTimeUnixNano),
              attributes: attrs(s.attributes),
              status: s.status?.code ?? 'STATUS_CODE_UNSET',
              resource,
            });
          }
        }
      }
      cb(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      tls
        ? grpc.ServerCredentials.createSsl(Buffer.from(tls.trustAnchorsPem), [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], true)
        : grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  return Object.assign(received, { port });
}
