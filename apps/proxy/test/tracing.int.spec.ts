// Tracing through real proxies on loopback: a client sends a sampled context to proxy A's outbound side, A
// forwards to proxy B's inbound side, B to the app. Spans are exported over OTLP/gRPC to a receiver built on
// OpenTelemetry's protobuf (otlp-receiver.ts, not the Collector) and compared with what the app received.
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type IncomingHttpHeaders } from 'node:http';
import { connect as h2connect, createServer as createH2Server } from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, listenOn, sample, startHarness, type Harness } from './harness.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER = '00f067aa0ba902b7';

let receiver: OtlpReceiver;
let a: Harness;
let b: Harness;
let appPort = 0;
let h2AppPort = 0;
/** The headers the app saw on its last request. */
let seen: IncomingHttpHeaders = {};

function get(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host: 'web.demo.svc.cluster.local:8080', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function h2get(port: number, path: string, headers: Record<string, string>): Promise<number> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  try {
    const req = session.request({ ':path': path, ':authority': 'voting.demo.svc.cluster.local:8080', ...headers });
    const [resHeaders] = (await once(req, 'response')) as [Record<string, string | number>];
    req.resume();
    await once(req, 'end');
    return Number(resHeaders[':status']);
  } finally {
    session.close();
  }
}

/** Spans of the trace once `n` have arrived (both proxies flushed). */
async function spansOf(traceId: string, n: number): Promise<ReceivedSpan[]> {
  await eventually(async () => {
    await Promise.all([a.proxy.spans?.flush(), b.proxy.spans?.flush()]);
    return receiver.spans.filter((s) => s.traceId === traceId).length >= n;
  }, 10_000);
  return receiver.spans.filter((s) => s.traceId === traceId);
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const app = createHttpServer((req, res) => {
    seen = req.headers;
    res.statusCode = req.url === '/fail' ? 503 : 200;
    res.end('ok');
  });
  appPort = await listenOn(app);
  const h2app = createH2Server((req, res) => {
    seen = req.headers;
    res.end('ok');
  });
  h2AppPort = await listenOn(h2app);
  const dir = mkdtempSync(join(tmpdir(), 'trellis-trace-'));
  const labels = join(dir, 'labels');
  writeFileSync(labels, 'app="web-svc"\nlinkerd.io/workload-ns="emojivoto"\npod-template-hash="66bdd4d96d"\n');
  const collector = { LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: `127.0.0.1:${receiver.port}` };
  a = await startHarness({
    ...collector,
    LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH: labels,
    LINKERD2_PROXY_TRACE_EXTRA_ATTRIBUTES: 'k8s.pod.ip="10.0.0.7"\nk8s.container.name="linkerd-proxy"',
  });
  b = await startHarness({ ...collector, LINKERD2_PROXY_TRACE_SERVICE_NAME: 'voting-proxy' });
  a.target = { ip: '127.0.0.1', port: b.inboundPort };
  b.target = { ip: '127.0.0.1', port: appPort };
});

afterAll(async () => {
  a.proxy.close();
  b.proxy.close();
  await receiver.close();
});

beforeEach(() => {
  b.target = { ip: '127.0.0.1', port: appPort };
  seen = {};
});

describe('a sampled W3C context over HTTP/1', () => {
  it('gives each hop a span whose parent is the hop before it, and the app the last proxy span as parent', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await get(a.outboundPort, '/api/vote?choice=:cat:', { traceparent: `00-${traceId}-${CALLER}-01` });
    expect(res.status).toBe(200);
    const spans = await spansOf(traceId, 2);
    expect(spans).toHaveLength(2);
    const out = spans.find((s) => s.kind === 'SPAN_KIND_CLIENT') as ReceivedSpan;
    const inb = spans.find((s) => s.kind === 'SPAN_KIND_SERVER') as ReceivedSpan;
    expect(out.parentSpanId).toBe(CALLER);
    expect(inb.parentSpanId).toBe(out.spanId);
    expect(seen.traceparent).toBe(`00-${traceId}-${inb.spanId}-01`);
    // The inbound hop happens within the outbound one.
    expect(inb.startNs >= out.startNs && inb.endNs <= out.endNs).toBe(true);
    expect(out.name).toBe('/api/vote');
    expect(out.attributes).toMatchObject({
      direction: 'outbound',
      'http.request.method': 'GET',
      'url.path': '/api/vote',
      'url.query': 'choice=:cat:',
      'server.address': 'web.demo.svc.cluster.local',
      'server.port': 8080,
      'http.response.status_code': 200,
    });
    expect(inb.attributes).toMatchObject({ direction: 'inbound', 'http.response.status_code': 200 });
    expect(out.resource).toMatchObject({
      'service.name': 'linkerd-proxy',
      app: 'web-svc',
      'linkerd.io/workload-ns': 'emojivoto',
      'k8s.pod.ip': '10.0.0.7',
      'k8s.container.name': 'linkerd-proxy',
    });
    expect(inb.resource['service.name']).toBe('voting-proxy');
    console.log(
      'span dump (W3C):\n' +
        spans
          .map((s) => `  ${s.kind.replace('SPAN_KIND_', '')} ${s.name} span=${s.spanId} parent=${s.parentSpanId} ${Number(s.endNs - s.startNs) / 1e6} ms ${JSON.stringify(s.attributes)}`)
          .join('\n'),
    );
  });

  it('marks a 5xx answer as an error on the span', async () => {
    const traceId = '1af7651916cd43dd8448eb211c80319c';
    const res = await get(a.outboundPort, '/fail', { traceparent: `00-${traceId}-${CALLER}-01` });
    expect(res.status).toBe(503);
    const spans = await spansOf(traceId, 2);
    for (const s of spans) {
      expect(s.attributes['http.response.status_code']).toBe(503);
      expect(s.status).toBe('STATUS_CODE_ERROR');
    }
  });
});

describe('B3 contexts', () => {
  it('multi-header B3 over HTTP/2: new span id, the caller as x-b3-parentspanid, spans nested', async () => {
    b.target = { ip: '127.0.0.1', port: h2AppPort };
    const status = await h2get(a.outboundPort, '/emojivoto.v1.VotingService/VoteDoughnut', {
      'x-b3-traceid': TRACE,
      'x-b3-spanid': CALLER,
      'x-b3-sampled': '1',
    });
    expect(status).toBe(200);
    const spans = await spansOf(TRACE, 2);
    const out = spans.find((s) => s.kind === 'SPAN_KIND_CLIENT') as ReceivedSpan;
    const inb = spans.find((s) => s.kind === 'SPAN_KIND_SERVER') as ReceivedSpan;
    expect(out.parentSpanId).toBe(CALLER);
    expect(inb.parentSpanId).toBe(out.spanId);
    expect(seen['x-b3-traceid']).toBe(TRACE);
    expect(seen['x-b3-spanid']).toBe(inb.spanId);
    expect(seen['x-b3-parentspanid']).toBe(out.spanId);
    expect(out.attributes['server.address']).toBe('voting.demo.svc.cluster.local');
  });

  it('single-header B3 with a 64-bit trace id', async () => {
    const short = 'a3ce929d0e0e4736';
    const res = await get(a.outboundPort, '/b3', { b3: `${short}-${CALLER}-1` });
    expect(res.status).toBe(200);
    const spans = await spansOf(`0000000000000000${short}`, 2);
    const inb = spans.find((s) => s.kind === 'SPAN_KIND_SERVER') as ReceivedSpan;
    const out = spans.find((s) => s.kind === 'SPAN_KIND_CLIENT') as ReceivedSpan;
    expect(out.parentSpanId).toBe(CALLER);
    expect(seen.b3).toBe(`${short}-${inb.spanId}-1-${out.spanId}`);
  });
});

describe('requests that are not traced', () => {
  it('an untraced request and an unsampled one make no span and reach the app unchanged', async () => {
    const before = receiver.spans.length;
    expect((await get(a.outboundPort, '/plain', {})).status).toBe(200);
    expect(seen.traceparent).toBeUndefined();
    const unsampled = `00-2af7651916cd43dd8448eb211c80319c-${CALLER}-00`;
    expect((await get(a.outboundPort, '/unsampled', { traceparent: unsampled })).status).toBe(200);
    expect(seen.traceparent).toBe(unsampled);
    const malformed = '00-zzz-1-01';
    expect((await get(a.outboundPort, '/malformed', { traceparent: malformed })).status).toBe(200);
    expect(seen.traceparent).toBe(malformed);
    await Promise.all([a.proxy.spans?.flush(), b.proxy.spans?.flush()]);
    expect(receiver.spans.length).toBe(before);
  });
});

describe('a dead collector', () => {
  it('changes nothing for traffic and counts the spans it could not take', async () => {
    const closed = createNetServer();
    const deadPort = await listenOn(closed);
    closed.close();
    const dead = await startHarness({ LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: `127.0.0.1:${deadPort}` });
    try {
      dead.target = { ip: '127.0.0.1', port: appPort };
      const started = performance.now();
      for (let i = 0; i < 20; i++) {
        const res = await get(dead.outboundPort, `/vote/${i}`, { traceparent: `00-3af7651916cd43dd8448eb211c8031${String(i).padStart(2, '0')}-${CALLER}-01` });
        expect(res.status).toBe(200);
      }
      const elapsed = performance.now() - started;
      expect(elapsed).toBeLessThan(5000);
      await dead.proxy.spans?.flush().catch(() => undefined);
      await eventually(async () => (sample(await dead.metrics(), 'trace_spans_dropped_total', 'reason="export_failed"') ?? 0) >= 20, 30_000);
      console.log(`dead collector: 20 traced requests in ${elapsed.toFixed(0)} ms; trace_spans_dropped_total{reason="export_failed"} = ${sample(await dead.metrics(), 'trace_spans_dropped_total', 'reason="export_failed"')}`);
    } finally {
      dead.proxy.close();
    }
  }, 60_000);
});
