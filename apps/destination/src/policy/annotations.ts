// Linkerd's outbound annotations on a Service, HTTPRoute or GRPCRoute (contracts §4; linkerd.io "Retries",
// "Timeouts", "Circuit breaking"): retry conditions, limit and per-try timeout, request/response/idle
// timeouts, and consecutive-failure accrual. Parsed once per object; a bad value is reported (annotation
// and value) and only that annotation is ignored, so a typo never takes a Service's policy down.
import { durationFromMillis, type duration, type httpRoute, type outbound } from '@trellis/proto';

export const ANN = {
  retryHttp: 'retry.linkerd.io/http',
  retryGrpc: 'retry.linkerd.io/grpc',
  retryLimit: 'retry.linkerd.io/limit',
  retryTimeout: 'retry.linkerd.io/timeout',
  timeoutRequest: 'timeout.linkerd.io/request',
  timeoutResponse: 'timeout.linkerd.io/response',
  timeoutIdle: 'timeout.linkerd.io/idle',
  accrual: 'balancer.linkerd.io/failure-accrual',
  accrualMaxFailures: 'balancer.linkerd.io/failure-accrual-consecutive-max-failures',
  accrualMinPenalty: 'balancer.linkerd.io/failure-accrual-consecutive-min-penalty',
  accrualMaxPenalty: 'balancer.linkerd.io/failure-accrual-consecutive-max-penalty',
  accrualJitter: 'balancer.linkerd.io/failure-accrual-consecutive-jitter-ratio',
} as const;

/** Annotation prefixes a record keeps (everything else on the object is dropped). */
export const OUTBOUND_ANNOTATION_PREFIXES = ['retry.linkerd.io/', 'timeout.linkerd.io/', 'balancer.linkerd.io/'] as const;

export interface AnnotationProblem {
  readonly annotation: string;
  readonly value: string;
  readonly reason: string;
}

export interface StatusRange {
  readonly start: number;
  readonly end: number;
}

export type GrpcCondition = 'cancelled' | 'deadline-exceeded' | 'internal' | 'resource-exhausted' | 'unavailable';
const GRPC_CONDITIONS: readonly GrpcCondition[] = ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'];

export interface RetryConfig<C> {
  readonly limit: number;
  readonly timeoutMs: number | undefined;
  /** undefined when the conditions annotation is absent (the proxy then gets an empty condition set). */
  readonly conditions: readonly C[] | undefined;
}

export interface TimeoutConfig {
  readonly requestMs?: number;
  readonly responseMs?: number;
  readonly idleMs?: number;
}

export interface AccrualConfig {
  readonly maxFailures: number;
  readonly minPenaltyMs: number;
  readonly maxPenaltyMs: number;
  readonly jitter: number;
}

/** What the annotations of one object configure. */
export interface OutboundAnnotations {
  readonly httpRetry: RetryConfig<StatusRange> | undefined;
  readonly grpcRetry: RetryConfig<GrpcCondition> | undefined;
  readonly timeouts: TimeoutConfig;
  readonly accrual: AccrualConfig | undefined;
  readonly problems: readonly AnnotationProblem[];
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Linkerd's annotation durations: an integer and one unit (ms, s, m, h, d); a bare "0" is zero. Milliseconds. */
export function parseAnnotationDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m || (m[2] === undefined && Number(m[1]) !== 0)) throw new Error('expected an integer with a unit (ms, s, m, h or d), e.g. 500ms or 10s');
  const ms = Number(m[1]) * (m[2] === undefined ? 0 : (UNITS[m[2]] as number));
  if (!Number.isSafeInteger(ms)) throw new Error('duration too large');
  return ms;
}

function statusCode(s: string): number | undefined {
  if (!/^\d{3}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 100 && n <= 599 ? n : undefined;
}

/** `5xx`, `gateway-error` (502-504), a code, or a range `a-b`, comma separated. */
export function parseStatusRanges(value: string): StatusRange[] {
  return value.split(',').map((raw) => {
    const c = raw.trim();
    if (c.toLowerCase() === '5xx') return { start: 500, end: 599 };
    if (c.toLowerCase() === 'gateway-error') return { start: 502, end: 504 };
    const single = statusCode(c);
    if (single !== undefined) return { start: single, end: single };
    const dash = c.indexOf('-');
    const a = dash > 0 ? statusCode(c.slice(0, dash)) : undefined;
    const b = dash > 0 ? statusCode(c.slice(dash + 1)) : undefined;
    if (a !== undefined && b !== undefined && a <= b) return { start: a, end: b };
    throw new Error(`${JSON.stringify(c)} is not 5xx, gateway-error, a status code (100-599) or a range a-b`);
  });
}

export function parseGrpcConditions(value: string): GrpcCondition[] {
  return value.split(',').map((raw) => {
    const c = raw.trim().toLowerCase();
    if ((GRPC_CONDITIONS as readonly string[]).includes(c)) return c as GrpcCondition;
    throw new Error(`${JSON.stringify(raw.trim())} is not one of ${GRPC_CONDITIONS.join(', ')}`);
  });
}

/**
 * Reads the outbound annotations of a Service or route. `kind` limits which retry annotation applies
 * (Linkerd: retry.linkerd.io/http is not valid on a GRPCRoute, retry.linkerd.io/grpc not on an HTTPRoute).
 */
export function parseOutboundAnnotations(annotations: Readonly<Record<string, string>>, kind: 'Service' | 'HTTPRoute' | 'GRPCRoute' = 'Service'): OutboundAnnotations {
  const problems: AnnotationProblem[] = [];
  function read<T>(annotation: string, parse: (v: string) => T): T | undefined {
    const value = annotations[annotation];
    if (value === undefined) return undefined;
    try {
      return parse(value);
    } catch (err) {
      problems.push({ annotation, value, reason: (err as Error).message });
      return undefined;
    }
  }
  const duration = (v: string) => parseAnnotationDuration(v);
  const nonZero = (n: number | undefined) => (n === 0 ? undefined : n);

  const limit = nonZero(
    read(ANN.retryLimit, (v) => {
      if (!/^\d+$/.test(v.trim()) || Number(v) > 65535) throw new Error('expected an integer from 0 to 65535');
      return Number(v);
    }),
  );
  const retryTimeoutMs = nonZero(read(ANN.retryTimeout, duration));
  const retry = <C>(conditions: readonly C[] | undefined): RetryConfig<C> | undefined =>
    limit === undefined && retryTimeoutMs === undefined && conditions === undefined ? undefined : { limit: limit ?? 1, timeoutMs: retryTimeoutMs, conditions };
  const httpConditions = kind === 'GRPCRoute' ? undefined : read(ANN.retryHttp, parseStatusRanges);
  const grpcConditions = kind === 'HTTPRoute' ? undefined : read(ANN.retryGrpc, parseGrpcConditions);

  const timeouts: { requestMs?: number; responseMs?: number; idleMs?: number } = {};
  const request = read(ANN.timeoutRequest, duration);
  const response = read(ANN.timeoutResponse, duration);
  const idle = read(ANN.timeoutIdle, duration);
  if (request !== undefined) timeouts.requestMs = request;
  if (response !== undefined) timeouts.responseMs = response;
  if (idle !== undefined) timeouts.idleMs = idle;

  return { httpRetry: retry(httpConditions), grpcRetry: retry(grpcConditions), timeouts, accrual: kind === 'Service' ? parseAccrual(annotations, read, problems) : undefined, problems };
}

function parseAccrual(
  annotations: Readonly<Record<string, string>>,
  read: <T>(annotation: string, parse: (v: string) => T) => T | undefined,
  problems: AnnotationProblem[],
): AccrualConfig | undefined {
  const mode = annotations[ANN.accrual];
  if (mode === undefined) return undefined;
  if (mode !== 'consecutive') {
    problems.push({ annotation: ANN.accrual, value: mode, reason: 'the only failure accrual mode is "consecutive"' });
    return undefined;
  }
  const maxFailures =
    read(ANN.accrualMaxFailures, (v) => {
      if (!/^\d+$/.test(v.trim()) || Number(v) > 0xffff_ffff) throw new Error('expected a non-negative integer');
      return Number(v);
    }) ?? 7;
  let minPenaltyMs = read(ANN.accrualMinPenalty, parseAnnotationDuration) ?? 1000;
  let maxPenaltyMs =
    read(ANN.accrualMaxPenalty, (v) => {
      const ms = parseAnnotationDuration(v);
      if (ms === 0) throw new Error('the maximum penalty cannot be zero');
      return ms;
    }) ?? 60_000;
  if (minPenaltyMs > maxPenaltyMs) {
    const value = `${annotations[ANN.accrualMinPenalty] ?? '1s'} > ${annotations[ANN.accrualMaxPenalty] ?? '60s'}`;
    problems.push({ annotation: `${ANN.accrualMinPenalty}, ${ANN.accrualMaxPenalty}`, value, reason: 'the minimum penalty exceeds the maximum; using 1s and 60s' });
    minPenaltyMs = 1000;
    maxPenaltyMs = 60_000;
  }
  const jitter =
    read(ANN.accrualJitter, (v) => {
      const n = Number(v.trim());
      if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) throw new Error('expected a number from 0 to 100');
      return n;
    }) ?? 0.5;
  return { maxFailures, minPenaltyMs, maxPenaltyMs, jitter };
}

// ---- to the wire

const ms = (v: number | undefined): duration.Duration | undefined => (v === undefined ? undefined : durationFromMillis(v));

/** Linkerd's retry backoff for route retries: 25 ms to 250 ms, full jitter. */
const RETRY_BACKOFF: outbound.ExponentialBackoff = { minBackoff: durationFromMillis(25), maxBackoff: durationFromMillis(250), jitterRatio: 1, respectRetryAfterHint: false };
export const RETRY_MAX_REQUEST_BYTES = 65_536;

export function httpRetry(r: RetryConfig<StatusRange> | undefined): outbound.HttpRoute_Retry | undefined {
  if (!r) return undefined;
  return {
    maxRetries: r.limit,
    maxRequestBytes: RETRY_MAX_REQUEST_BYTES,
    conditions: { statusRanges: (r.conditions ?? []).map((c) => ({ start: c.start, end: c.end })) },
    timeout: ms(r.timeoutMs),
    backoff: RETRY_BACKOFF,
  };
}

export function grpcRetry(r: RetryConfig<GrpcCondition> | undefined): outbound.GrpcRoute_Retry | undefined {
  if (!r) return undefined;
  const has = (c: GrpcCondition) => (r.conditions ?? []).includes(c);
  return {
    maxRetries: r.limit,
    maxRequestBytes: RETRY_MAX_REQUEST_BYTES,
    conditions: { cancelled: has('cancelled'), deadineExceeded: has('deadline-exceeded'), internal: has('internal'), resourceExhausted: has('resource-exhausted'), unavailable: has('unavailable') },
    timeout: ms(r.timeoutMs),
    backoff: RETRY_BACKOFF,
  };
}

export function timeouts(t: TimeoutConfig): httpRoute.Timeouts {
  return { request: ms(t.requestMs), response: ms(t.responseMs), idle: ms(t.idleMs) };
}

export function isEmptyTimeouts(t: TimeoutConfig): boolean {
  return t.requestMs === undefined && t.responseMs === undefined && t.idleMs === undefined;
}

export function failureAccrual(a: AccrualConfig | undefined): outbound.FailureAccrual | undefined {
  if (!a) return undefined;
  return {
    kind: {
      $case: 'consecutiveFailures',
      value: { maxFailures: a.maxFailures, backoff: { minBackoff: durationFromMillis(a.minPenaltyMs), maxBackoff: durationFromMillis(a.maxPenaltyMs), jitterRatio: a.jitter, respectRetryAfterHint: false } },
    },
    ejection: undefined,
  };
}

/** Only the annotations this module reads, so records stay small. */
export function keepOutboundAnnotations(annotations: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations ?? {})) if (OUTBOUND_ANNOTATION_PREFIXES.some((p) => k.startsWith(p))) kept[k] = v;
  return kept;
}
