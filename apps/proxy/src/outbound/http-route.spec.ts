import { describe, expect, it } from 'vitest';
import type { LogicalTarget, MeshEndpoint } from '../discovery/outbound.ts';
import type { ProxyError } from '../errors.ts';
import { Exchange, type Downstream, type ForwardTo, type HttpContext, type RequestHead } from '../http/exchange.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import type { EndpointClient, MeshPick } from './endpoint-client.ts';
import { routeRequest, type RoutedTarget } from './http-route.ts';
import type { TargetRoutes } from './routes.ts';

const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const targets = new TargetCache(metrics, 'all-unauthenticated');

/** A tunnel (Upgrade/CONNECT): its codec relays it; the head is an HTTP/1 header list. */
class TunnelExchange extends Exchange {
  readonly raw: Record<string, string> = {};
  forwardedTo: ForwardTo | undefined;
  failed: ProxyError | undefined;
  constructor(headers: Record<string, string> = {}) {
    super(targets.get('outbound', '10.0.0.1', 80, false), false, ctx);
    Object.assign(this.raw, headers);
  }
  forward(to?: ForwardTo): void {
    this.forwardedTo = to;
  }
  downstream(): Downstream | undefined {
    return undefined;
  }
  requestHead(): RequestHead {
    const raw = this.raw;
    return {
      method: 'GET',
      target: '/chat',
      headers: raw,
      connection: undefined,
      addHeader: (n, v) => (raw[n] = v),
      setHeader: (n, v) => (raw[n] = v),
      removeHeader: (n) => delete raw[n],
    };
  }
  protected respondError(err: ProxyError): void {
    this.failed = err;
  }
}

const endpoint = { endpoint: { addr: '10.0.0.7:8080', ip: '10.0.0.7', port: 8080, identity: 'books.default.serviceaccount.identity.trellis.cluster.local' }, h2: undefined } as unknown as MeshEndpoint;
const agentOf = new Map<MeshEndpoint, object>([[endpoint, { agent: 'of 10.0.0.7' }]]);

function target(routes: TargetRoutes, log: string[]): RoutedTarget {
  return {
    routes,
    policyObserver: undefined,
    client: { agent: (me: MeshEndpoint) => agentOf.get(me) } as unknown as EndpointClient,
    profileRoute: () => undefined,
    series: () => undefined,
    budget: () => {
      throw new Error('a tunnel has no retries');
    },
    pick: async (): Promise<MeshPick> => ({ me: endpoint, firstByte: () => log.push('first byte'), done: (ok) => log.push(`done ${ok}`) }),
  };
}

const logical = { logical: 'books.default.svc.cluster.local:80' } as LogicalTarget;

describe('the outbound route stage', () => {
  it("names the profile's service in l5d-dst-canonical and sends a tunnel to a balanced endpoint over its agent", async () => {
    const log: string[] = [];
    const ex = new TunnelExchange({ upgrade: 'websocket', 'l5d-dst-canonical': 'spoofed:1' });
    routeRequest(ex, target({ kind: 'profile', logical, canonical: logical.logical }, log));
    await new Promise((r) => setImmediate(r));
    expect(ex.raw['l5d-dst-canonical']).toBe('books.default.svc.cluster.local:80');
    expect([ex.forwardedTo?.host, ex.forwardedTo?.port, ex.forwardedTo?.agent]).toEqual(['10.0.0.7', 8080, { agent: 'of 10.0.0.7' }]);
    ex.forwardedTo?.firstByte();
    ex.status = 101;
    ex.finish();
    expect(log).toEqual(['first byte', 'done true']);
  });

  it('leaves l5d-dst-canonical off a known pod, and refuses an endpoint another l5d-require-id names', async () => {
    const log: string[] = [];
    const ex = new TunnelExchange({ 'l5d-require-id': 'authors.default.serviceaccount.identity.trellis.cluster.local' });
    routeRequest(ex, target({ kind: 'endpoint', endpoint }, log));
    await new Promise((r) => setImmediate(r));
    expect([ex.raw['l5d-dst-canonical'], ex.forwardedTo, ex.failed?.httpStatus, log]).toEqual([undefined, undefined, 502, ['done true']]);
  });
});
