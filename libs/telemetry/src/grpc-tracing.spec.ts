import { Server, ServerCredentials, credentials, makeGenericClientConstructor, Metadata, status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcTracing, parseTraceCollector, type GrpcTracing } from './grpc-tracing.ts';

// A raw-bytes service on a real grpc-js server; spans land in the SDK's in-memory exporter instead of a collector.
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const def = {
  get: { path: '/io.linkerd.proxy.destination.Destination/Get', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
} satisfies ServiceDefinition;
const Client = makeGenericClientConstructor(def, 'Destination');

let server: Server;
let client: InstanceType<typeof Client>;
let tracing: GrpcTracing;
const exporter = new InMemorySpanExporter();

function call(body: string, md = new Metadata()): Promise<ServiceError | undefined> {
  return new Promise((resolve) => (client as unknown as { get: (b: Buffer, m: Metadata, cb: (e: ServiceError | null) => void) => void }).get(Buffer.from(body), md, (e) => resolve(e ?? undefined)));
}

beforeAll(async () => {
  tracing = createGrpcTracing({ collector: '127.0.0.1:1', serviceName: 'trellis-destination', exporter });
  server = new Server({ interceptors: [tracing.interceptor] });
  server.addService(def, {
    get: (c: { request: Buffer }, cb: (e: Partial<ServiceError> | null, r?: Buffer) => void) => (c.request.toString() === 'fail' ? cb({ code: status.NOT_FOUND, details: 'no such service' }) : cb(null, c.request)),
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  server.forceShutdown();
  await tracing.shutdown();
});

describe('gRPC server spans', () => {
  it('a call with a W3C context is a SERVER span under the caller; without one it starts a trace', async () => {
    const md = new Metadata();
    md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(await call('ok', md)).toBeUndefined();
    expect(await call('ok')).toBeUndefined();
    await tracing.flush();
    const [child, root] = exporter.getFinishedSpans();
    expect(child?.name).toBe('io.linkerd.proxy.destination.Destination/Get');
    expect(child?.kind).toBe(SpanKind.SERVER);
    expect(child?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(child?.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'io.linkerd.proxy.destination.Destination', 'rpc.method': 'Get', 'rpc.grpc.status_code': 0 });
    expect(child?.resource.attributes['service.name']).toBe('trellis-destination');
    expect(root?.parentSpanContext).toBeUndefined();
    expect(root?.spanContext().traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    exporter.reset();
  });

  it('a failed call carries its status code and an error status', async () => {
    expect((await call('fail'))?.code).toBe(status.NOT_FOUND);
    await tracing.flush();
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes['rpc.grpc.status_code']).toBe(status.NOT_FOUND);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no such service' });
  });
});

describe('parseTraceCollector', () => {
  it('takes host:port, "" as off, and names the flag otherwise', () => {
    expect(parseTraceCollector('--trace-collector', 'collector.tracing:4317')).toBe('collector.tracing:4317');
    expect(parseTraceCollector('--trace-collector', '')).toBeUndefined();
    expect(() => parseTraceCollector('--trace-collector', 'collector')).toThrow(/--trace-collector/);
    expect(() => parseTraceCollector('--trace-collector', 'c:99999')).toThrow(/--trace-collector/);
  });
});
