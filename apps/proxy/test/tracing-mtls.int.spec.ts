// A meshed proxy's spans go to the collector over mTLS: the proxy presents its current certificate and checks that
// the collector's names LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME. The receiver is the OTLP receiver on real gRPC
// (otlp-receiver.ts) with TLS that requires client certificates from the test PKI.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credentials } from '../src/identity/credentials.ts';
import { controlAddr } from '../src/identity/env.ts';
import type { TraceConfig } from '../src/trace/config.ts';
import { createSpanSink } from '../src/trace/exporter.ts';
import { createMeshPki, type MeshPki } from './mesh-pki.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';

const COLLECTOR_ID = 'collector.tracing.serviceaccount.identity.trellis.cluster.local';
const PROXY_ID = 'web.emojivoto.serviceaccount.identity.trellis.cluster.local';
const log = { warn: () => undefined, info: () => undefined };

let pki: MeshPki;
let receiver: OtlpReceiver;
let proxyCreds: Credentials | undefined;
const source = { current: () => proxyCreds };

/** The collector address as the injector renders it: not loopback, so the proxy uses mTLS. */
function config(name: string): TraceConfig {
  const collector = { ...controlAddr('LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR', `127.0.0.1:${receiver.port}`), loopback: false };
  return { collector, collectorName: name, serviceName: 'linkerd-proxy', attributes: { 'service.name': 'linkerd-proxy' }, warnings: [] };
}

async function exportOne(name: string, traceId: string): Promise<Registry> {
  const registry = new Registry();
  const sink = createSpanSink(config(name), { registry, log, mesh: { source, trustAnchorsPem: pki.trustAnchorsPem } });
  sink.start('client', '/api/vote', traceId, '00f067aa0ba902b7', {}, performance.now()).end({ 'http.response.status_code': 200 }, false);
  await sink.flush().catch(() => undefined);
  await sink.shutdown().catch(() => undefined);
  return registry;
}

const count = async (r: Registry, name: string, reason?: string) =>
  (await r.getSingleMetric(name)?.get())?.values.find((v) => reason === undefined || v.labels['reason'] === reason)?.value ?? 0;

beforeAll(async () => {
  pki = await createMeshPki();
  const collector = await pki.issue(COLLECTOR_ID);
  receiver = await startOtlpReceiver({ certPem: collector.tls.cert, keyPem: collector.tls.key, trustAnchorsPem: pki.trustAnchorsPem });
});

afterAll(async () => {
  await receiver.close();
});

describe('span export over mTLS', () => {
  it('without a certificate yet, spans are dropped and counted rather than sent in the clear', async () => {
    proxyCreds = undefined;
    const r = await exportOne(COLLECTOR_ID, '7bf92f3577b34da6a3ce929d0e0e4736');
    expect(await count(r, 'trace_spans_dropped_total', 'export_failed')).toBe(1);
    expect(receiver.spans.some((s) => s.traceId === '7bf92f3577b34da6a3ce929d0e0e4736')).toBe(false);
  });

  it('with the proxy certificate, the collector that has the expected identity receives the span', async () => {
    proxyCreds = await pki.issue(PROXY_ID);
    const r = await exportOne(COLLECTOR_ID, '8bf92f3577b34da6a3ce929d0e0e4736');
    expect(await count(r, 'trace_spans_exported_total')).toBe(1);
    expect(receiver.spans.find((s) => s.traceId === '8bf92f3577b34da6a3ce929d0e0e4736')?.name).toBe('/api/vote');
  });

  it('a collector whose certificate names another identity gets nothing', async () => {
    proxyCreds = await pki.issue(PROXY_ID);
    const r = await exportOne('someone-else.tracing.serviceaccount.identity.trellis.cluster.local', '9bf92f3577b34da6a3ce929d0e0e4736');
    expect(await count(r, 'trace_spans_dropped_total', 'export_failed')).toBe(1);
    expect(receiver.spans.some((s) => s.traceId === '9bf92f3577b34da6a3ce929d0e0e4736')).toBe(false);
  }, 30_000);
});
