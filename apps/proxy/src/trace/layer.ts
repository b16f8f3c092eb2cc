// The tracing stage on the HTTP path: one layer for both directions and both HTTP versions, placed with the tap
// layer. A request without trace headers costs three header reads; one whose context is not sampled passes
// unchanged. A sampled one gets a span for this hop (inbound: a server span, outbound: a client span) whose parent
// is the caller's span, and is forwarded with the proxy's span as the parent; the span ends when the exchange does.
import type { Attributes } from '@opentelemetry/api';
import type { Exchange, HttpLayer } from '../http/exchange.ts';
import { hasTraceHeaders, propagate, readTraceContext } from './context.ts';
import type { SpanSink } from './exporter.ts';

export type TraceDirection = 'inbound' | 'outbound';

export function tracingLayer(sink: SpanSink, direction: TraceDirection): HttpLayer {
  const kind = direction === 'inbound' ? 'server' : 'client';
  return (next) => (ex) => {
    if (hasTraceHeaders(ex)) traceExchange(sink, kind, direction, ex);
    next(ex);
  };
}

function str(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Request attributes as Linkerd's proxy records them (OpenTelemetry's HTTP conventions), plus the peer's identity. */
export function requestAttributes(ex: Exchange, direction: TraceDirection): { name: string; attributes: Attributes } {
  const head = ex.requestHead();
  const h = head.headers;
  let target = head.target;
  let scheme = str(h[':scheme']);
  let host = str(h['x-forwarded-host']) ?? str(h[':authority']) ?? str(h['host']);
  if (!target.startsWith('/')) {
    // Absolute form: the URL carries scheme and authority.
    try {
      const u = new URL(target);
      target = u.pathname + u.search;
      scheme = u.protocol.replace(/:$/, '');
      host = u.host;
    } catch {
      // `*` or a CONNECT authority: recorded as written.
    }
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const attributes: Attributes = { direction, 'http.request.method': head.method, 'url.path': path };
  if (q >= 0) attributes['url.query'] = target.slice(q + 1);
  if (scheme !== undefined) attributes['url.scheme'] = scheme;
  if (host !== undefined) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
    if (m) {
      attributes['server.address'] = m[1] as string;
      if (m[2] !== undefined) attributes['server.port'] = Number(m[2]);
    }
  }
  if (direction === 'inbound' && ex.entry.clientId) attributes['linkerd.client_id'] = ex.entry.clientId;
  return { name: path, attributes };
}

function traceExchange(sink: SpanSink, kind: 'server' | 'client', direction: TraceDirection, ex: Exchange): void {
  const ctx = readTraceContext(ex);
  if (ctx === undefined || !ctx.sampled) return;
  const { name, attributes } = requestAttributes(ex, direction);
  const span = sink.start(kind, name, ctx.traceId, ctx.spanId, attributes, ex.startedAt);
  propagate(ctx, span.spanId, ex.requestHead());
  ex.onFinish((done) => {
    const end: Attributes = {};
    if (done.status > 0) end['http.response.status_code'] = done.status;
    if (done.grpc && done.grpcStatus >= 0) end['rpc.grpc.status_code'] = done.grpcStatus;
    if (done.errorLabel !== '') end['error.type'] = done.errorLabel;
    const server = done.pickedEndpoint?.identity;
    if (server) end['linkerd.server_id'] = server;
    span.end(end, done.status === 0 || done.status >= 500 || done.errorLabel !== '');
  });
}
