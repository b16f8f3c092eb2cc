import { describe, expect, it } from 'vitest';
import type { Headers } from '../../http/exchange.ts';
import { DEFAULT_RETRY_BACKOFF, type RuleSpec } from './compile.ts';
import { backoffMs, effective, retryableStatus } from './l5d-headers.ts';
import type { BoundRule } from './target.ts';

// Only the rule's own settings are read here.
function rule(allowL5dHeaders: boolean, retry?: RuleSpec['retry']): BoundRule {
  return { spec: { allowL5dHeaders, retry, timeouts: { requestMs: 1_000, responseMs: 0, idleMs: 0 } } } as unknown as BoundRule;
}

describe('l5d-* request headers on a policy route', () => {
  it('override the retry policy and timeouts when the rule allows them, and are removed', () => {
    const h: Headers = { 'l5d-retry-http': '5xx,429', 'l5d-retry-limit': '3', 'l5d-retry-timeout': '150ms', 'l5d-timeout': '2s', 'l5d-response-timeout': '500ms', accept: '*/*' };
    const e = effective(rule(true), h, false);
    expect(e.retry?.statusRanges).toEqual([
      [500, 599],
      [429, 429],
    ]);
    expect([e.retry?.maxRetries, e.retry?.timeoutMs, e.requestMs, e.responseMs]).toEqual([3, 150, 2_000, 500]);
    expect(h).toEqual({ accept: '*/*' });
  });

  it('are left alone, and change nothing, when the rule does not allow them; malformed values are ignored', () => {
    const h: Headers = { 'l5d-retry-limit': '3', 'l5d-timeout': '2s' };
    expect(effective(rule(false), h, false)).toEqual({ retry: undefined, requestMs: 1_000, responseMs: 0, idleMs: 0 });
    expect(h).toEqual({ 'l5d-retry-limit': '3', 'l5d-timeout': '2s' });
    const bad: Headers = { 'l5d-retry-http': 'often', 'l5d-timeout': 'soon', 'l5d-retry-grpc': 'unavailable' };
    const e = effective(rule(true), bad, false);
    // gRPC codes are read for gRPC requests only.
    expect([e.retry, e.requestMs]).toEqual([undefined, 1_000]);
    expect(effective(rule(true), { 'l5d-retry-grpc': 'unavailable,internal' }, true).retry?.grpcCodes).toEqual(new Set([14, 13]));
  });

  it('decides retryable answers by status for HTTP and by gRPC code for gRPC; backoff grows and stays under its max', () => {
    const r = { maxRetries: 2, maxRequestBytes: 100, statusRanges: [[502, 504]] as const, grpcCodes: new Set([14]), timeoutMs: 0, backoff: DEFAULT_RETRY_BACKOFF };
    expect([retryableStatus(r, 503, undefined, false), retryableStatus(r, 500, undefined, false), retryableStatus(r, 200, 14, true), retryableStatus(r, 503, 0, true)]).toEqual([true, false, true, false]);
    expect([0, 1, 2, 5].map((i) => backoffMs(r, i, () => 0))).toEqual([25, 50, 100, 250]);
    expect(backoffMs(r, 1, () => 1)).toBe(100);
  });
});
