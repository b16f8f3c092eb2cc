// Tracing into a real collector: proxy A (outbound) → proxy B (inbound) → app, spans exported over OTLP/gRPC to
// Jaeger v2 (tools/bin/ensure jaeger) and read back from Jaeger's query API, as a user would look at them.
import { createServer as createHttpServer, request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOn, startHarness, type Harness } from './harness.ts';
import { startJaeger, type Jaeger, type JaegerSpan, type JaegerTrace } from './jaeger.ts';

let jaeger: Jaeger;
let a: Harness;
let b: Harness;
let seen: IncomingHttpHeaders = {};

function get(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host: 'web-svc.emojivoto.svc.cluster.local:80', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

function dump(t: JaegerTrace): string {
  return t.spans
    .map((s) => `  ${t.processes[s.processID]?.serviceName} ${tag(s, 'span.kind')} ${s.operationName} span=${s.spanID} parent=${parentOf(s)} ${(s.duration / 1000).toFixed(2)} ms status=${tag(s, 'http.response.status_code')}`)
    .join('\n');
}

beforeAll(async () => {
  jaeger = await startJaeger();
  const app = createHttpServer((req, res) => {
    seen = req.headers;
    res.end('ok');
  });
  const appPort = await listenOn(app);
  a = await startHarness({ LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: jaeger.otlp, LINKERD2_PROXY_TRACE_SERVICE_NAME: 'vote-bot-proxy' });
  b = await startHarness({ LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: jaeger.otlp, LINKERD2_PROXY_TRACE_SERVICE_NAME: 'web-proxy' });
  a.target = { ip: '127.0.0.1', port: b.inboundPort };
  b.target = { ip: '127.0.0.1', port: appPort };
}, 120_000);

afterAll(async () => {
  a?.proxy.close();
  b?.proxy.close();
  await jaeger?.stop();
});

describe('spans read back from Jaeger', () => {
  it.each([
    ['W3C', '5bf92f3577b34da6a3ce929d0e0e4736', { traceparent: '00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }],
    ['B3', '6bf92f3577b34da6a3ce929d0e0e4736', { 'x-b3-traceid': '6bf92f3577b34da6a3ce929d0e0e4736', 'x-b3-spanid': '00f067aa0ba902b7', 'x-b3-sampled': '1' }],
  ] as const)('%s: one trace, the inbound hop nested in the outbound one, under the caller', async (_name, traceId, headers) => {
    expect(await get(a.outboundPort, '/api/vote?choice=:doughnut:', headers)).toBe(200);
    await Promise.all([a.proxy.spans?.flush(), b.proxy.spans?.flush()]);
    const t = await jaeger.trace(traceId, 2);
    console.log(`Jaeger trace ${traceId}:\n${dump(t)}`);
    expect(t.spans).toHaveLength(2);
    const out = t.spans.find((s) => tag(s, 'span.kind') === 'client') as JaegerSpan;
    const inb = t.spans.find((s) => tag(s, 'span.kind') === 'server') as JaegerSpan;
    expect(t.processes[out.processID]?.serviceName).toBe('vote-bot-proxy');
    expect(t.processes[inb.processID]?.serviceName).toBe('web-proxy');
    expect(out.operationName).toBe('/api/vote');
    expect(parentOf(out)).toBe('00f067aa0ba902b7');
    expect(parentOf(inb)).toBe(out.spanID);
    expect(inb.startTime).toBeGreaterThanOrEqual(out.startTime);
    expect(inb.startTime + inb.duration).toBeLessThanOrEqual(out.startTime + out.duration);
    expect(tag(out, 'http.request.method')).toBe('GET');
    expect(tag(out, 'url.query')).toBe('choice=:doughnut:');
    expect(tag(out, 'server.address')).toBe('web-svc.emojivoto.svc.cluster.local');
    expect(Number(tag(inb, 'http.response.status_code'))).toBe(200);
    expect(tag(inb, 'direction')).toBe('inbound');
    const forwarded = seen.traceparent ?? seen['x-b3-spanid'];
    expect(forwarded).toContain(inb.spanID);
  });
});
