import { describe, expect, it } from 'vitest';
import { hasTraceHeaders, parseB3Single, parseTraceparent, propagate, readTraceContext, type HeaderReader, type TraceContext } from './context.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';
const NEW = '1111111111111111';

function reader(h: Record<string, string | string[]>): HeaderReader {
  return { header: (n) => h[n] };
}

function edits(): { out: Record<string, string>; setHeader(n: string, v: string): void } {
  const out: Record<string, string> = {};
  return { out, setHeader: (n, v) => (out[n] = v) };
}

describe('W3C traceparent', () => {
  it('reads version 00 with its sampled flag', () => {
    expect(parseTraceparent(`00-${T}-${S}-01`)).toMatchObject({ format: 'w3c', traceId: T, spanId: S, sampled: true });
    expect(parseTraceparent(`00-${T}-${S}-00`)?.sampled).toBe(false);
  });
  it('refuses other versions, all-zero ids, bad hex and short fields', () => {
    for (const v of [`01-${T}-${S}-01`, `00-${'0'.repeat(32)}-${S}-01`, `00-${T}-${'0'.repeat(16)}-01`, `00-${T}-${S}-0x`, `00-${T.slice(1)}-${S}-01`, `00-${T}-${S}`, 'garbage']) {
      expect(parseTraceparent(v)).toBeUndefined();
    }
  });
  it('goes onward with the proxy span as parent and the flags kept', () => {
    const ctx = readTraceContext(reader({ traceparent: `00-${T}-${S}-03` }));
    const e = edits();
    propagate(ctx as TraceContext, NEW, e);
    expect(e.out).toEqual({ traceparent: `00-${T}-${NEW}-03` });
  });
});

describe('B3', () => {
  it('multi-header: sampled by x-b3-sampled 1 or true, or x-b3-flags 1; 64-bit ids padded', () => {
    expect(readTraceContext(reader({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' }))).toMatchObject({ format: 'b3', traceId: T, sampled: true });
    expect(readTraceContext(reader({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': 'true' }))?.sampled).toBe(true);
    expect(readTraceContext(reader({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1' }))?.sampled).toBe(true);
    expect(readTraceContext(reader({ 'x-b3-traceid': T, 'x-b3-spanid': S }))?.sampled).toBe(false);
    expect(readTraceContext(reader({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': S, 'x-b3-sampled': '1' }))?.traceId).toBe('0000000000000000a3ce929d0e0e4736');
  });
  it('multi-header onward: new span id, the caller as parent, the trace id as it came', () => {
    const ctx = readTraceContext(reader({ 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': S, 'x-b3-sampled': '1' }));
    const e = edits();
    propagate(ctx as TraceContext, NEW, e);
    expect(e.out).toEqual({ 'x-b3-spanid': NEW, 'x-b3-parentspanid': S });
  });
  it('single header: traceid-spanid[-state[-parent]]; a lone state carries no context', () => {
    expect(parseB3Single(`${T}-${S}-1-${NEW}`)).toMatchObject({ format: 'b3-single', traceId: T, spanId: S, sampled: true });
    expect(parseB3Single(`${T}-${S}-d`)?.sampled).toBe(true);
    expect(parseB3Single(`${T}-${S}`)?.sampled).toBe(false);
    expect(parseB3Single('1')).toBeUndefined();
    expect(parseB3Single(`${T}-${S}-x`)).toBeUndefined();
    const e = edits();
    propagate(parseB3Single(`${T}-${S}-1`) as TraceContext, NEW, e);
    expect(e.out).toEqual({ b3: `${T}-${NEW}-1-${S}` });
  });
});

describe('which context wins', () => {
  it('W3C before B3 multi before B3 single; a malformed traceparent falls through to B3', () => {
    const all = { traceparent: `00-${T}-${S}-01`, 'x-b3-traceid': T, 'x-b3-spanid': NEW, b3: `${T}-${NEW}-1` };
    expect(readTraceContext(reader(all))?.format).toBe('w3c');
    expect(readTraceContext(reader({ ...all, traceparent: 'bad' }))?.format).toBe('b3');
    expect(readTraceContext(reader({ b3: `${T}-${NEW}-1` }))?.format).toBe('b3-single');
  });
  it('a request without trace headers is told apart by the header check alone', () => {
    expect(hasTraceHeaders(reader({ host: 'web' }))).toBe(false);
    expect(hasTraceHeaders(reader({ b3: '0' }))).toBe(true);
    expect(readTraceContext(reader({ b3: '0' }))).toBeUndefined();
  });
  it('a header sent twice is not a context', () => {
    expect(readTraceContext(reader({ traceparent: [`00-${T}-${S}-01`, `00-${T}-${NEW}-01`] }))).toBeUndefined();
  });
});
