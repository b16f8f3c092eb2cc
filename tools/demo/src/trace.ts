// W3C trace context in the demo, with OpenTelemetry JS's propagator: vote-bot starts a sampled trace for each vote
// (the demo's "ingress"), and web carries the context of the request it serves onto its gRPC calls. The services
// make no spans of their own; the proxies' spans make the trace (docs/reference/tracing.md).
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, trace, TraceFlags, defaultTextMapGetter, defaultTextMapSetter, type Context } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Metadata } from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http';

const w3c = new W3CTraceContextPropagator();

/** The context a request carried (ROOT_CONTEXT when it carried none). */
export function contextOf(headers: IncomingHttpHeaders): Context {
  return w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** gRPC metadata carrying `ctx` onward; undefined when there is no context to carry. */
export function traceMetadata(ctx: Context): Metadata | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  if (carrier['traceparent'] === undefined) return undefined;
  const md = new Metadata();
  for (const [k, v] of Object.entries(carrier)) md.set(k, v);
  return md;
}

/** Headers that start a new sampled trace: a random trace id and the caller's (unexported) span as parent. */
export function newTraceHeaders(random: (n: number) => Buffer = randomBytes): Record<string, string> {
  const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: random(16).toString('hex'), spanId: random(8).toString('hex'), traceFlags: TraceFlags.SAMPLED, isRemote: false });
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, defaultTextMapSetter);
  return carrier;
}
