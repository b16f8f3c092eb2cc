// The trace context a request carries, in the formats Linkerd's proxy reads: W3C `traceparent` first, then B3
// (multi-header `x-b3-*`, and the single `b3` header). Only a sampled context makes a span; the proxy then
// propagates the context in the format it came in, with its own span id as the parent (B3 also names the
// incoming span as `x-b3-parentspanid`, as B3 does for a child span).

export type TraceFormat = 'w3c' | 'b3' | 'b3-single';

export interface TraceContext {
  readonly format: TraceFormat;
  /** 32 lower-case hex digits (a 64-bit B3 trace id is padded on the left with zeros). */
  readonly traceId: string;
  /** As the request carried it (B3 allows 16 or 32 digits); written back unchanged. */
  readonly traceIdRaw: string;
  /** The caller's span: the parent of the proxy's span. 16 lower-case hex digits. */
  readonly spanId: string;
  readonly sampled: boolean;
  /** W3C trace flags byte as 2 hex digits (kept when propagating). */
  readonly flags: string;
}

/** A header value as the HTTP layers see it. */
export type HeaderValue = string | string[] | undefined;

/** Reads one request header (lower-case name) without building a header object (an Exchange is one). */
export interface HeaderReader {
  header(name: string): HeaderValue;
}

const HEX = /^[0-9a-f]+$/;

function single(v: HeaderValue): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}

function isHex(s: string, len: number): boolean {
  return s.length === len && HEX.test(s) && !/^0+$/.test(s);
}

/** `version-traceid-spanid-flags`; version 00 only, as Linkerd's proxy reads it; all-zero ids are invalid. */
export function parseTraceparent(value: string): TraceContext | undefined {
  const v = value.trim().toLowerCase();
  const parts = v.split('-');
  if (parts.length !== 4) return undefined;
  const [version, traceId, spanId, flags] = parts as [string, string, string, string];
  if (version !== '00' || !isHex(traceId, 32) || !isHex(spanId, 16) || flags.length !== 2 || !HEX.test(flags)) return undefined;
  return { format: 'w3c', traceId, traceIdRaw: traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1, flags };
}

function b3TraceId(raw: string): string | undefined {
  const t = raw.trim().toLowerCase();
  if (isHex(t, 32)) return t;
  if (isHex(t, 16)) return `0000000000000000${t}`;
  return undefined;
}

/** `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (`1`/`true`) or `x-b3-flags: 1` (debug, implies sampled). */
export function parseB3Multi(read: HeaderReader): TraceContext | undefined {
  const rawTrace = single(read.header('x-b3-traceid'));
  const rawSpan = single(read.header('x-b3-spanid'));
  if (rawTrace === undefined || rawSpan === undefined) return undefined;
  const traceId = b3TraceId(rawTrace);
  const spanId = rawSpan.trim().toLowerCase();
  if (traceId === undefined || !isHex(spanId, 16)) return undefined;
  const s = single(read.header('x-b3-sampled'))?.trim().toLowerCase();
  const sampled = s === '1' || s === 'true' || single(read.header('x-b3-flags'))?.trim() === '1';
  return { format: 'b3', traceId, traceIdRaw: rawTrace.trim(), spanId, sampled, flags: sampled ? '01' : '00' };
}

/** `b3: traceid-spanid[-sampled[-parentspanid]]`; a lone sampling state (`0`, `1`, `d`) carries no context. */
export function parseB3Single(value: string): TraceContext | undefined {
  const parts = value.trim().toLowerCase().split('-');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const [rawTrace, spanId, state] = parts as [string, string, string | undefined];
  const traceId = b3TraceId(rawTrace);
  if (traceId === undefined || !isHex(spanId, 16)) return undefined;
  if (state !== undefined && state !== '0' && state !== '1' && state !== 'd') return undefined;
  const sampled = state === '1' || state === 'd';
  return { format: 'b3-single', traceId, traceIdRaw: rawTrace, spanId, sampled, flags: sampled ? '01' : '00' };
}

/**
 * Whether the request carries any trace header at all: the only work an untraced request costs (three property
 * reads, no allocation).
 */
export function hasTraceHeaders(read: HeaderReader): boolean {
  return read.header('traceparent') !== undefined || read.header('x-b3-traceid') !== undefined || read.header('b3') !== undefined;
}

/** The request's context, W3C first, then B3 multi, then B3 single; undefined when absent or malformed. */
export function readTraceContext(read: HeaderReader): TraceContext | undefined {
  const tp = single(read.header('traceparent'));
  const w3c = tp === undefined ? undefined : parseTraceparent(tp);
  if (w3c !== undefined) return w3c;
  const multi = parseB3Multi(read);
  if (multi !== undefined) return multi;
  const b3 = single(read.header('b3'));
  return b3 === undefined ? undefined : parseB3Single(b3);
}

/** Replaces headers on what is forwarded (RequestHead.setHeader). */
export interface HeaderWriter {
  setHeader(name: string, value: string): void;
}

/** Writes the context onward in the format it came in, with `spanId` (the proxy's span) as the new parent. */
export function propagate(ctx: TraceContext, spanId: string, out: HeaderWriter): void {
  switch (ctx.format) {
    case 'w3c':
      out.setHeader('traceparent', `00-${ctx.traceId}-${spanId}-${ctx.flags}`);
      return;
    case 'b3':
      out.setHeader('x-b3-spanid', spanId);
      out.setHeader('x-b3-parentspanid', ctx.spanId);
      return;
    case 'b3-single':
      out.setHeader('b3', `${ctx.traceIdRaw}-${spanId}-${ctx.sampled ? '1' : '0'}-${ctx.spanId}`);
      return;
  }
}
