import { createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseTraceConfig, type TraceConfig } from './config.ts';
import { createSpanSink } from './exporter.ts';

const log = { warn: () => undefined, info: () => undefined };

async function deadAddress(): Promise<string> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

async function dropped(registry: Registry, reason: string): Promise<number> {
  const m = await registry.getSingleMetric('trace_spans_dropped_total')?.get();
  return m?.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

describe('span export queue', () => {
  it('drops the spans that find the queue full and counts them, without waiting on the collector', async () => {
    const registry = new Registry();
    const cfg = parseTraceConfig({ LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: await deadAddress() }) as TraceConfig;
    // A long delay: only a full batch leaves the queue (one export at a time), so most of the burst does not fit.
    const sink = createSpanSink(cfg, { registry, log, limits: { maxQueueSize: 5, maxExportBatchSize: 5, scheduledDelayMs: 60_000, exportTimeoutMs: 1000 } });
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      sink.start('client', '/x', '4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', {}, performance.now()).end({ 'http.response.status_code': 200 }, false);
    }
    expect(performance.now() - started).toBeLessThan(1000);
    const full = await dropped(registry, 'queue_full');
    expect(full).toBeGreaterThanOrEqual(10);
    // What was queued goes to the dead collector when flushed: every span is counted once, one way or the other.
    await sink.flush().catch(() => undefined);
    expect(full + (await dropped(registry, 'export_failed'))).toBe(20);
    await sink.shutdown().catch(() => undefined);
  }, 30_000);
});
