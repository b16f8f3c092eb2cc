// OutboundPolicies against the real API server: a Service's retry, timeout and failure-accrual annotations
// reach the default http and grpc routes, a changed annotation reaches an open Watch, and an invalid one is
// ignored on its own.
import type { V1Service } from '@kubernetes/client-node';
import { loadKubeConfig } from '@trellis/k8s';
import type { outbound } from '@trellis/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Destination } from '../src/app.ts';
import { api, clients, collect, createNamespace, createService, installCrds, startTestDestination, until } from './harness.ts';

const kc = loadKubeConfig({ kubeconfig: inject('kubeconfig') });
const k = api(kc);
let d: Destination;
let c: ReturnType<typeof clients>;
let ns = '';
const logLines: string[] = [];

const ms = (n: number) => ({ seconds: BigInt(Math.floor(n / 1000)), nanos: (n % 1000) * 1_000_000 });
const BACKOFF = { minBackoff: ms(25), maxBackoff: ms(250), jitterRatio: 1, respectRetryAfterHint: false };

function httpRule(p: outbound.OutboundPolicy): outbound.HttpRoute_Rule | undefined {
  if (p.protocol?.kind?.$case !== 'detect') throw new Error(`expected detect, got ${p.protocol?.kind?.$case}`);
  return p.protocol.kind.value.http1?.routes[0]?.rules[0];
}

function watch(name: string, port: number) {
  return collect(c.outbound.watch({ sourceWorkload: JSON.stringify({ ns, pod: 'client' }), target: { $case: 'authority', value: `${name}.${ns}.svc.cluster.local:${port}` } }));
}

async function updateService(name: string, change: (svc: V1Service) => V1Service): Promise<void> {
  const svc = await k.core.readNamespacedService({ name, namespace: ns });
  await k.core.replaceNamespacedService({ name, namespace: ns, body: change(svc) });
}

beforeAll(async () => {
  await installCrds(kc);
  ns = await createNamespace(kc, 'dst-ann');
  d = await startTestDestination(kc, {}, logLines);
  c = clients(d);
});

afterAll(async () => {
  await d?.close();
});

describe('Service annotations', () => {
  it('put retry, timeouts and failure accrual on the default http route, and follow changes', async () => {
    await createService(kc, ns, 'web', [{ name: 'http', port: 80, targetPort: 8080 }], {}, {
      'retry.linkerd.io/http': '5xx,429',
      'retry.linkerd.io/limit': '3',
      'retry.linkerd.io/timeout': '300ms',
      'timeout.linkerd.io/request': '10s',
      'timeout.linkerd.io/response': '5s',
      'balancer.linkerd.io/failure-accrual': 'consecutive',
      'balancer.linkerd.io/failure-accrual-consecutive-max-failures': '4',
    });
    const w = watch('web', 80);
    const first = await w.next('initial policy');
    const rule = httpRule(first);
    expect(rule?.retry).toEqual({ maxRetries: 3, maxRequestBytes: 65_536, conditions: { statusRanges: [{ start: 500, end: 599 }, { start: 429, end: 429 }] }, timeout: ms(300), backoff: BACKOFF });
    expect(rule?.timeouts).toEqual({ request: ms(10_000), response: ms(5_000), idle: undefined });
    expect(rule?.requestTimeout).toEqual(ms(10_000));
    if (first.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
    expect(first.protocol.kind.value.http2?.failureAccrual).toEqual({
      kind: { $case: 'consecutiveFailures', value: { maxFailures: 4, backoff: { minBackoff: ms(1000), maxBackoff: ms(60_000), jitterRatio: 0.5, respectRetryAfterHint: false } } },
      ejection: undefined,
    });

    // One valid change and one invalid annotation: the stream moves to limit 5 and ignores the bad idle timeout.
    await updateService('web', (svc) => ({ ...svc, metadata: { ...svc.metadata, annotations: { ...svc.metadata?.annotations, 'retry.linkerd.io/limit': '5', 'timeout.linkerd.io/idle': 'soon' } } }));
    const updated = httpRule(await w.next('limit 5', (p) => httpRule(p)?.retry?.maxRetries === 5));
    const warning = await until('a warning naming the Service, annotation and value', () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['annotation'] === 'timeout.linkerd.io/idle'));
    expect(warning).toMatchObject({ level: 40, kind: 'Service', namespace: ns, name: 'web', value: 'soon' });
    expect(warning['msg']).toBe(`ignoring invalid annotation timeout.linkerd.io/idle on Service ${ns}/web`);
    expect(updated?.timeouts).toEqual({ request: ms(10_000), response: ms(5_000), idle: undefined });
    expect(updated?.retry?.conditions?.statusRanges).toHaveLength(2);

    // Removing the annotations takes retries and accrual away again.
    await updateService('web', (svc) => ({ ...svc, metadata: { ...svc.metadata, annotations: {} } }));
    const bare = await w.next('no retry', (p) => httpRule(p)?.retry === undefined);
    expect(httpRule(bare)?.timeouts).toEqual({ request: undefined, response: undefined, idle: undefined });
    if (bare.protocol?.kind?.$case !== 'detect') throw new Error('expected detect');
    expect(bare.protocol.kind.value.http1?.failureAccrual).toBeUndefined();
    w.cancel();
  });

  it('put gRPC retry conditions on the default grpc route of a gRPC port', async () => {
    await createService(kc, ns, 'rpc', [{ name: 'grpc', port: 9090, targetPort: 9090 }], {}, {
      'retry.linkerd.io/grpc': 'cancelled,deadline-exceeded,internal,resource-exhausted,unavailable',
      'timeout.linkerd.io/idle': '1m',
    });
    await updateService('rpc', (svc) => ({ ...svc, spec: { ...svc.spec, ports: (svc.spec?.ports ?? []).map((p) => ({ ...p, appProtocol: 'grpc' })) } }));
    const w = watch('rpc', 9090);
    const p = await w.next('grpc policy', (x) => x.protocol?.kind?.$case === 'grpc');
    if (p.protocol?.kind?.$case !== 'grpc') throw new Error('expected grpc');
    const rule = p.protocol.kind.value.routes[0]?.rules[0];
    expect(rule?.retry).toEqual({
      maxRetries: 1,
      maxRequestBytes: 65_536,
      conditions: { cancelled: true, deadineExceeded: true, internal: true, resourceExhausted: true, unavailable: true },
      timeout: undefined,
      backoff: BACKOFF,
    });
    expect(rule?.timeouts?.idle).toEqual(ms(60_000));
    expect(p.protocol.kind.value.failureAccrual).toBeUndefined();
    w.cancel();
  });
});
