import { durationFromMillis, outbound } from '@trellis/proto';
import { describe, expect, it } from 'vitest';
import { compilePolicy, metaLabels } from './compile.ts';
import { requestFacts, selectRule } from '../../policy/match.ts';

const svc = { kind: { $case: 'resource' as const, value: { group: 'core', kind: 'Service', name: 'books', namespace: 'default', section: '', port: 80 } } };
const balancer = (path: string) => ({
  metadata: svc,
  queue: { capacity: 7, failfastTimeout: durationFromMillis(250) },
  kind: { $case: 'balancer' as const, value: { discovery: { kind: { $case: 'dst' as const, value: { path } } }, load: { $case: 'peakEwma' as const, value: { defaultRtt: durationFromMillis(40), decay: durationFromMillis(5_000) } } } },
});

describe('compilePolicy', () => {
  it('compiles an HTTP rule: filters, distribution, timeouts, retry and accrual', () => {
    const p = compilePolicy(
      outbound.OutboundPolicy.fromPartial({
        metadata: svc,
        protocol: {
          kind: {
            $case: 'http1',
            value: {
              routes: [
                {
                  metadata: { kind: { $case: 'default', value: 'http' } },
                  rules: [
                    {
                      matches: [{ path: { kind: { $case: 'prefix', value: '/api' } } }],
                      filters: [{ kind: { $case: 'failureInjector', value: { status: 503, message: 'x', ratio: { numerator: 1, denominator: 4 } } } }],
                      backends: { kind: { $case: 'randomAvailable', value: { backends: [{ backend: { backend: balancer('a:80') }, weight: 3 }, { backend: { backend: balancer('b:80') }, weight: 0 }] } } },
                      timeouts: { request: durationFromMillis(2_000), response: durationFromMillis(500), idle: durationFromMillis(300) },
                      retry: { maxRetries: 2, maxRequestBytes: 1024, conditions: { statusRanges: [{ start: 502, end: 504 }] }, timeout: durationFromMillis(100), backoff: { minBackoff: durationFromMillis(10), maxBackoff: durationFromMillis(5), jitterRatio: 0.5 } },
                      allowL5dRequestHeaders: true,
                    },
                  ],
                },
              ],
              failureAccrual: { kind: { $case: 'consecutiveFailures', value: { maxFailures: 7, backoff: { minBackoff: durationFromMillis(1_000), maxBackoff: durationFromMillis(60_000), jitterRatio: 0.5 } } } },
            },
          },
        },
      }),
    );
    expect(p.protocol).toBe('http1');
    expect(p.parent).toEqual({ group: 'core', kind: 'Service', namespace: 'default', name: 'books', section: '', port: '80' });
    expect(p.breaker).toEqual({ maxFailures: 7, minPenaltyMs: 1_000, maxPenaltyMs: 60_000, jitter: 0.5 });
    const rule = selectRule(p.http1, requestFacts('GET', '/api/x', { host: 'books' }));
    expect(rule?.route).toEqual(metaLabels({ kind: { $case: 'default', value: 'http' } }));
    expect(rule?.filters).toEqual([{ kind: 'fail', status: 503, grpc: false, message: 'x', ratio: 0.25 }]);
    // A zero weight takes the backend out of the split.
    expect(rule?.distribution.backends.map((b) => [b.backend.key, b.weight])).toEqual([['balancer|a:80|7|250|40|5000', 3]]);
    expect(rule?.timeouts).toEqual({ requestMs: 2_000, responseMs: 500, idleMs: 300 });
    // max_backoff below min_backoff is raised to it.
    expect(rule?.retry).toMatchObject({ maxRetries: 2, maxRequestBytes: 1024, statusRanges: [[502, 504]], timeoutMs: 100, backoff: { minMs: 10, maxMs: 10, jitter: 0.5 } });
    expect(rule?.allowL5dHeaders).toBe(true);
    expect(rule?.prefixes).toEqual(['/api']);
    expect(selectRule(p.http1, requestFacts('GET', '/other', {}))).toBeUndefined();
  });

  it('reads gRPC retry conditions by code and a gRPC failure injector', () => {
    const p = compilePolicy(
      outbound.OutboundPolicy.fromPartial({
        protocol: {
          kind: {
            $case: 'grpc',
            value: {
              routes: [
                {
                  rules: [
                    {
                      matches: [{ rpc: { service: 'books.Books', method: 'Get' } }],
                      filters: [{ kind: { $case: 'failureInjector', value: { code: 14, message: 'down' } } }],
                      retry: { maxRetries: 1, conditions: { cancelled: true, deadineExceeded: true, unavailable: true } },
                    },
                  ],
                },
              ],
            },
          },
        },
      }),
    );
    const rule = selectRule(p.grpc, requestFacts('POST', '/books.Books/Get', {}));
    expect(rule?.filters).toEqual([{ kind: 'fail', status: 14, grpc: true, message: 'down', ratio: 1 }]);
    expect([...(rule?.retry?.grpcCodes ?? [])].sort((a, b) => a - b)).toEqual([1, 4, 14]);
    // Defaults: 64 KiB of body, 25-250 ms backoff.
    expect(rule?.retry).toMatchObject({ maxRequestBytes: 65536, backoff: { minMs: 25, maxMs: 250, jitter: 1 } });
    expect(rule?.distribution.kind).toBe('empty');
  });

  it('drops a rule with an invalid regex and names it, keeping the others', () => {
    const p = compilePolicy(
      outbound.OutboundPolicy.fromPartial({
        protocol: {
          kind: {
            $case: 'http2',
            value: {
              routes: [
                {
                  metadata: { kind: { $case: 'default', value: 'r' } },
                  rules: [{ matches: [{ path: { kind: { $case: 'regex', value: '(' } } }] }, { matches: [{ path: { kind: { $case: 'exact', value: '/ok' } } }] }],
                },
              ],
            },
          },
        },
      }),
    );
    expect(p.problems).toHaveLength(1);
    expect(p.problems[0]).toMatch(/^route r: invalid regex/);
    expect(p.http2[0]?.rules).toHaveLength(1);
  });

  it('reads an opaque route with a forbidden filter as a refusal, and Detect with its opaque fallback', () => {
    const forbidden = compilePolicy(
      outbound.OutboundPolicy.fromPartial({
        protocol: { kind: { $case: 'opaque', value: { routes: [{ rules: [{ filters: [{ kind: { $case: 'forbidden', value: {} } }] }] }] } } },
      }),
    );
    expect(forbidden.protocol).toBe('opaque');
    expect(forbidden.opaque?.refuse).toBe('forbidden by policy');
    const invalid = compilePolicy(
      outbound.OutboundPolicy.fromPartial({
        protocol: { kind: { $case: 'opaque', value: { routes: [{ rules: [{ filters: [{ kind: { $case: 'invalid', value: { message: 'bad backend' } } }] }] }] } } },
      }),
    );
    expect(invalid.opaque?.refuse).toBe('invalid route: bad backend');
    const detect = compilePolicy(
      outbound.OutboundPolicy.fromPartial({
        protocol: { kind: { $case: 'detect', value: { opaque: { routes: [{ rules: [{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: balancer('a:80') }] } } } }] }] } } } },
      }),
    );
    expect(detect.protocol).toBe('detect');
    expect(detect.opaque?.distribution.backends).toHaveLength(1);
    expect(detect.breaker).toBeUndefined();
  });

  it('keys a forward backend by its address so an unchanged one is reused', () => {
    const fwd = (port: number) =>
      outbound.OutboundPolicy.fromPartial({
        protocol: {
          kind: {
            $case: 'http1',
            value: { routes: [{ rules: [{ backends: { kind: { $case: 'firstAvailable', value: { backends: [{ backend: { kind: { $case: 'forward', value: { addr: { ip: { ip: { $case: 'ipv4', value: 0x7f000001 } }, port }, weight: 1 } } } }] } } } }] }] },
          },
        },
      });
    const key = (port: number) => compilePolicy(fwd(port)).http1[0]?.rules[0]?.rule.distribution.backends[0]?.backend.key;
    expect(key(80)).toBe(key(80));
    expect(key(80)).not.toBe(key(81));
  });
});
