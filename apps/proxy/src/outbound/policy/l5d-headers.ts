// The l5d-* request headers a policy route may allow (docs/reference/linkerd-proxy.md §5): l5d-retry-http,
// l5d-retry-grpc, l5d-retry-limit and l5d-retry-timeout override the rule's retry policy, l5d-timeout,
// l5d-request-timeout and l5d-response-timeout its timeouts; they are removed from the request when honoured.
// Malformed values are ignored (the rule's own settings stay).
import { parseDuration } from '@trellis/config';
import type { Headers } from '../../http/exchange.ts';
import { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_RETRY_BACKOFF, type RetrySpec } from './compile.ts';
import type { BoundRule } from './target.ts';

const L5D_REQUEST_HEADERS = ['l5d-retry-http', 'l5d-retry-grpc', 'l5d-retry-limit', 'l5d-retry-timeout', 'l5d-timeout', 'l5d-request-timeout', 'l5d-response-timeout'];

function headerValue(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Retry conditions from the l5d-retry-http header: "5xx", "gateway-error", "500", "500-504", comma-separated. */
function parseStatusRanges(v: string): [number, number][] | undefined {
  const out: [number, number][] = [];
  for (const part of v.split(',')) {
    const t = part.trim().toLowerCase();
    if (!t) continue;
    if (t === '5xx') out.push([500, 599]);
    else if (t === 'gateway-error') out.push([502, 504]);
    else {
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(t);
      if (!m) return undefined;
      out.push([Number(m[1]), Number(m[2] ?? m[1])]);
    }
  }
  return out;
}

const GRPC_CODE_NAMES: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };

function parseGrpcCodes(v: string): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of v.split(',')) {
    const t = part.trim().toLowerCase();
    if (!t) continue;
    const c = GRPC_CODE_NAMES[t];
    if (c === undefined) return undefined;
    out.add(c);
  }
  return out;
}

function durationHeader(h: Headers, name: string): number | undefined {
  const v = headerValue(h, name);
  if (v === undefined) return undefined;
  try {
    return parseDuration(name, v);
  } catch {
    return undefined;
  }
}

export interface Effective {
  retry: RetrySpec | undefined;
  requestMs: number;
  responseMs: number;
  idleMs: number;
}

/** The rule's timeouts and retry policy, overridden by the l5d-* request headers when the rule allows them. */
export function effective(rule: BoundRule, h: Headers, grpc: boolean): Effective {
  const spec = rule.spec;
  const e: Effective = { retry: spec.retry, requestMs: spec.timeouts.requestMs, responseMs: spec.timeouts.responseMs, idleMs: spec.timeouts.idleMs };
  if (!spec.allowL5dHeaders) return e;
  const base: RetrySpec = spec.retry ?? { maxRetries: 1, maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES, statusRanges: [], grpcCodes: new Set(), timeoutMs: 0, backoff: DEFAULT_RETRY_BACKOFF };
  let retry: RetrySpec | undefined = spec.retry;
  const http = headerValue(h, 'l5d-retry-http');
  const grpcCodes = headerValue(h, 'l5d-retry-grpc');
  const limit = headerValue(h, 'l5d-retry-limit');
  const perTry = durationHeader(h, 'l5d-retry-timeout');
  if (!grpc && http !== undefined) {
    const ranges = parseStatusRanges(http);
    if (ranges) retry = { ...(retry ?? base), statusRanges: ranges };
  }
  if (grpc && grpcCodes !== undefined) {
    const codes = parseGrpcCodes(grpcCodes);
    if (codes) retry = { ...(retry ?? base), grpcCodes: codes };
  }
  if (limit !== undefined && /^\d+$/.test(limit.trim())) retry = { ...(retry ?? base), maxRetries: Number(limit) };
  if (perTry !== undefined) retry = { ...(retry ?? base), timeoutMs: perTry };
  e.retry = retry;
  e.requestMs = durationHeader(h, 'l5d-request-timeout') ?? durationHeader(h, 'l5d-timeout') ?? e.requestMs;
  e.responseMs = durationHeader(h, 'l5d-response-timeout') ?? e.responseMs;
  for (const name of L5D_REQUEST_HEADERS) delete h[name];
  return e;
}

export function retryableStatus(r: RetrySpec, status: number, grpcStatus: number | undefined, grpc: boolean): boolean {
  if (grpc) return grpcStatus !== undefined && r.grpcCodes.has(grpcStatus);
  return r.statusRanges.some(([a, b]) => status >= a && status <= b);
}

export function backoffMs(r: RetrySpec, retry: number, random: () => number): number {
  const { minMs, maxMs, jitter } = r.backoff;
  const base = Math.min(maxMs, minMs * 2 ** retry);
  return Math.min(maxMs, base + base * jitter * random());
}

