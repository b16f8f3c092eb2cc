import { describe, expect, it } from 'vitest';
import type { ProxyError } from '../errors.ts';
import { ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { TargetCache } from '../tcp/targets.ts';
import { compose, Exchange, type HttpContext, type RequestHead } from './exchange.ts';
import { countRequests, rescue, shedLoad } from './layers.ts';

const metrics = new ProxyMetrics();
const ctx: HttpContext = { metrics, respond: { direction: 'outbound', proxyName: 'p', informational: true, identify: true }, connectTimeoutMs: 1000 };
const targets = new TargetCache(metrics, 'all-unauthenticated');

class FakeExchange extends Exchange {
  failures: ProxyError[] = [];
  constructor(port: number, meshed = false) {
    const entry = targets.get('outbound', '10.0.0.1', port, false);
    // Meshed outbound: discovery resolved the target (the upstream itself is not used here).
    super(entry, false, ctx, meshed ? { route: () => undefined } : undefined);
  }
  forward(): void {
    // the tests drive the exchange by hand
  }
  downstream(): undefined {
    return undefined;
  }
  requestHead(): RequestHead {
    throw new Error('these layers do not read the request');
  }
  protected respondError(err: ProxyError): void {
    this.failures.push(err);
    this.status = err.httpStatus;
  }
}

describe('countRequests', () => {
  it('counts the request at the start and the response with its status when it ends', () => {
    const ex = new FakeExchange(81);
    let seen = false;
    compose(countRequests)(() => (seen = true))(ex);
    expect(seen).toBe(true);
    expect(ex.entry.endpoint.requests.value).toBe(1);
    ex.status = 204;
    ex.firstByte();
    ex.finish();
    ex.finish();
    const text = metrics.render();
    expect(text).toContain('request_total{direction="outbound",target_addr="10.0.0.1:81",target_ip="10.0.0.1",target_port="81",tls="no_identity",no_tls_reason="not_provided_by_service_discovery"} 1');
    expect(text).toContain('response_total{direction="outbound",target_addr="10.0.0.1:81",target_ip="10.0.0.1",target_port="81",tls="no_identity",no_tls_reason="not_provided_by_service_discovery",status_code="204",classification="success",grpc_status="",error=""} 1');
    expect(text).toMatch(/response_latency_ms_count\{[^}]*target_port="81"[^}]*status_code="204"\} 1/);
  });
});

/** The request/response series lines that mention `part`. */
const httpLines = (text: string, part: string) => text.split('\n').filter((l) => /^(request_total|response_total|response_latency_ms)/.test(l) && l.includes(part));

describe('countRequests on the meshed outbound path', () => {
  it('counts the request and its response under the endpoint the balancer picked, not the original destination', () => {
    const ex = new FakeExchange(83, true);
    compose(countRequests)(() => undefined)(ex);
    const endpoint = metrics.endpoint('direction="outbound",target_addr="10.1.0.7:8080",tls="true",server_id="books"');
    ex.atEndpoint(endpoint);
    ex.atEndpoint(metrics.endpoint('direction="outbound",target_addr="10.1.0.8:8080",tls="true",server_id="books"'));
    ex.status = 200;
    ex.finish();
    const text = metrics.render();
    expect(text).toContain('request_total{direction="outbound",target_addr="10.1.0.7:8080",tls="true",server_id="books"} 1');
    expect(text).toContain('response_total{direction="outbound",target_addr="10.1.0.7:8080",tls="true",server_id="books",status_code="200",classification="success",grpc_status="",error=""} 1');
    expect(text).not.toContain('10.1.0.8');
    expect(httpLines(text, 'target_port="83"')).toEqual([]);
  });

  it('leaves a request that reached no endpoint (fail fast) out of the endpoint series', () => {
    const ex = new FakeExchange(84, true);
    compose(countRequests)(() => undefined)(ex);
    ex.status = 504;
    ex.finish();
    expect(httpLines(metrics.render(), 'target_port="84"')).toEqual([]);
  });
});

describe('shedLoad', () => {
  it('answers 503 above the in-flight limit and admits again once a request finishes', () => {
    const layer = shedLoad(1)(() => undefined);
    const a = new FakeExchange(82);
    const b = new FakeExchange(82);
    layer(a);
    layer(b);
    expect(b.failures.map((e) => e.code)).toEqual(['TRELLIS_ERR_LOAD_SHED']);
    expect(b.status).toBe(503);
    a.finish();
    const c = new FakeExchange(82);
    layer(c);
    expect(c.failures).toEqual([]);
  });
});

describe('rescue', () => {
  it('turns a thrown error into a synthesized failure counted by code', () => {
    const ex = new FakeExchange(83);
    rescue(() => {
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    })(ex);
    expect(ex.failures[0]?.code).toBe('TRELLIS_ERR_CONNECT');
    expect(ex.finished).toBe(true);
    expect(metrics.render()).toContain('trellis_proxy_errors_total{direction="outbound",protocol="http",code="TRELLIS_ERR_CONNECT"} 1');
    expect(metrics.render()).toContain('outbound_http_errors_total{error="i/o"} 1');
  });
});
