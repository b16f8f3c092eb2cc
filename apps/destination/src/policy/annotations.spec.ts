import { describe, expect, it } from 'vitest';
import { failureAccrual, grpcRetry, httpRetry, keepOutboundAnnotations, parseAnnotationDuration, parseOutboundAnnotations, parseStatusRanges, timeouts } from './annotations.ts';

describe('parseStatusRanges', () => {
  it('reads 5xx, gateway-error, single codes and ranges', () => {
    expect(parseStatusRanges('5xx,429')).toEqual([{ start: 500, end: 599 }, { start: 429, end: 429 }]);
    expect(parseStatusRanges('gateway-error, 500-504')).toEqual([{ start: 502, end: 504 }, { start: 500, end: 504 }]);
    expect(parseStatusRanges('5XX')).toEqual([{ start: 500, end: 599 }]);
  });

  it('rejects codes outside 100-599, reversed ranges and words', () => {
    for (const bad of ['600', '99', '504-500', '4xx', '', 'five']) expect(() => parseStatusRanges(bad)).toThrow();
  });
});

describe('parseAnnotationDuration', () => {
  it('takes one integer and one unit, or a bare zero', () => {
    expect(parseAnnotationDuration('250ms')).toBe(250);
    expect(parseAnnotationDuration('10s')).toBe(10_000);
    expect(parseAnnotationDuration('2m')).toBe(120_000);
    expect(parseAnnotationDuration('1h')).toBe(3_600_000);
    expect(parseAnnotationDuration('1d')).toBe(86_400_000);
    expect(parseAnnotationDuration('0')).toBe(0);
    for (const bad of ['5', '1.5s', '1m30s', '-1s', 's', '10us']) expect(() => parseAnnotationDuration(bad)).toThrow();
  });
});

describe('parseOutboundAnnotations', () => {
  it('serves nothing when no annotation is set', () => {
    expect(parseOutboundAnnotations({})).toEqual({ httpRetry: undefined, grpcRetry: undefined, timeouts: {}, accrual: undefined, problems: [] });
  });

  it('reads retries, timeouts and consecutive failure accrual from a Service', () => {
    const a = parseOutboundAnnotations({
      'retry.linkerd.io/http': '5xx,429',
      'retry.linkerd.io/grpc': 'cancelled,deadline-exceeded,internal,resource-exhausted,unavailable',
      'retry.linkerd.io/limit': '3',
      'retry.linkerd.io/timeout': '300ms',
      'timeout.linkerd.io/request': '10s',
      'timeout.linkerd.io/response': '5s',
      'timeout.linkerd.io/idle': '1m',
      'balancer.linkerd.io/failure-accrual': 'consecutive',
      'balancer.linkerd.io/failure-accrual-consecutive-max-failures': '4',
    });
    expect(a.problems).toEqual([]);
    expect(a.httpRetry).toEqual({ limit: 3, timeoutMs: 300, conditions: [{ start: 500, end: 599 }, { start: 429, end: 429 }] });
    expect(a.grpcRetry?.conditions).toEqual(['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable']);
    expect(a.timeouts).toEqual({ requestMs: 10_000, responseMs: 5_000, idleMs: 60_000 });
    expect(a.accrual).toEqual({ maxFailures: 4, minPenaltyMs: 1000, maxPenaltyMs: 60_000, jitter: 0.5 });
  });

  it('defaults the limit to 1 when only a condition or a timeout is set, and treats limit 0 as unset', () => {
    expect(parseOutboundAnnotations({ 'retry.linkerd.io/http': '503' }).httpRetry).toEqual({ limit: 1, timeoutMs: undefined, conditions: [{ start: 503, end: 503 }] });
    expect(parseOutboundAnnotations({ 'retry.linkerd.io/timeout': '1s' }).httpRetry).toEqual({ limit: 1, timeoutMs: 1000, conditions: undefined });
    expect(parseOutboundAnnotations({ 'retry.linkerd.io/limit': '0' }).httpRetry).toBeUndefined();
  });

  it('ignores only the invalid annotation and reports it with its value', () => {
    const a = parseOutboundAnnotations({ 'retry.linkerd.io/http': '5xx,bogus', 'retry.linkerd.io/limit': '2', 'timeout.linkerd.io/request': '5', 'timeout.linkerd.io/idle': '30s' });
    expect(a.httpRetry).toEqual({ limit: 2, timeoutMs: undefined, conditions: undefined });
    expect(a.timeouts).toEqual({ idleMs: 30_000 });
    expect(a.problems.map((p) => [p.annotation, p.value])).toEqual([
      ['retry.linkerd.io/http', '5xx,bogus'],
      ['timeout.linkerd.io/request', '5'],
    ]);
    expect(a.problems[0]?.reason).toContain('"bogus"');
  });

  it('checks the failure accrual mode, penalties and jitter', () => {
    const unknown = parseOutboundAnnotations({ 'balancer.linkerd.io/failure-accrual': 'success-rate' });
    expect(unknown.accrual).toBeUndefined();
    expect(unknown.problems[0]?.annotation).toBe('balancer.linkerd.io/failure-accrual');
    const reversed = parseOutboundAnnotations({
      'balancer.linkerd.io/failure-accrual': 'consecutive',
      'balancer.linkerd.io/failure-accrual-consecutive-min-penalty': '2m',
      'balancer.linkerd.io/failure-accrual-consecutive-max-penalty': '1m',
      'balancer.linkerd.io/failure-accrual-consecutive-jitter-ratio': '-1',
    });
    expect(reversed.accrual).toEqual({ maxFailures: 7, minPenaltyMs: 1000, maxPenaltyMs: 60_000, jitter: 0.5 });
    expect(reversed.problems).toHaveLength(2);
  });

  it('reads only the retry annotation that fits a route kind, and no failure accrual on routes', () => {
    const ann = { 'retry.linkerd.io/http': '5xx', 'retry.linkerd.io/grpc': 'internal', 'balancer.linkerd.io/failure-accrual': 'consecutive' };
    const http = parseOutboundAnnotations(ann, 'HTTPRoute');
    expect(http.httpRetry?.conditions).toEqual([{ start: 500, end: 599 }]);
    expect(http.grpcRetry?.conditions).toBeUndefined();
    expect(http.accrual).toBeUndefined();
    expect(parseOutboundAnnotations(ann, 'GRPCRoute').httpRetry?.conditions).toBeUndefined();
  });
});

describe('wire forms', () => {
  it('encodes a retry with 64 KiB of body and the 25-250 ms backoff', () => {
    const r = httpRetry({ limit: 2, timeoutMs: 300, conditions: [{ start: 500, end: 599 }] });
    expect(r).toEqual({
      maxRetries: 2,
      maxRequestBytes: 65_536,
      conditions: { statusRanges: [{ start: 500, end: 599 }] },
      timeout: { seconds: 0n, nanos: 300_000_000 },
      backoff: { minBackoff: { seconds: 0n, nanos: 25_000_000 }, maxBackoff: { seconds: 0n, nanos: 250_000_000 }, jitterRatio: 1, respectRetryAfterHint: false },
    });
    expect(grpcRetry({ limit: 1, timeoutMs: undefined, conditions: ['unavailable', 'deadline-exceeded'] })?.conditions).toEqual({
      cancelled: false,
      deadineExceeded: true,
      internal: false,
      resourceExhausted: false,
      unavailable: true,
    });
  });

  it('encodes timeouts and consecutive failure accrual', () => {
    expect(timeouts({ requestMs: 1000 })).toEqual({ request: { seconds: 1n, nanos: 0 }, response: undefined, idle: undefined });
    expect(failureAccrual({ maxFailures: 7, minPenaltyMs: 1000, maxPenaltyMs: 60_000, jitter: 0.5 })).toEqual({
      kind: { $case: 'consecutiveFailures', value: { maxFailures: 7, backoff: { minBackoff: { seconds: 1n, nanos: 0 }, maxBackoff: { seconds: 60n, nanos: 0 }, jitterRatio: 0.5, respectRetryAfterHint: false } } },
      ejection: undefined,
    });
  });

  it('keeps only retry, timeout and balancer annotations of an object', () => {
    expect(keepOutboundAnnotations({ 'retry.linkerd.io/http': '5xx', 'kubectl.kubernetes.io/last-applied-configuration': '{}', 'balancer.linkerd.io/failure-accrual': 'consecutive' })).toEqual({
      'retry.linkerd.io/http': '5xx',
      'balancer.linkerd.io/failure-accrual': 'consecutive',
    });
  });
});
