import { describe, expect, it } from 'vitest';
import { contextOf, newTraceHeaders, traceMetadata } from './trace.ts';

describe('demo trace propagation', () => {
  it('vote-bot starts a sampled W3C trace per call', () => {
    const a = newTraceHeaders();
    const b = newTraceHeaders();
    expect(a['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(a['traceparent']?.slice(3, 35)).not.toBe(b['traceparent']?.slice(3, 35));
  });
  it('web carries the request context onto its gRPC metadata, and nothing when there was none', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(traceMetadata(contextOf({ traceparent: tp }))?.get('traceparent')).toEqual([tp]);
    expect(traceMetadata(contextOf({}))).toBeUndefined();
  });
});
