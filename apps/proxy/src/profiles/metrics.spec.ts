import { describe, expect, it } from 'vitest';
import { RouteMetricFamilies } from './metrics.ts';

describe('route metrics', () => {
  it('renders Linkerd route families with direction, dst and rt_ labels', () => {
    const f = new RouteMetricFamilies();
    const r = f.route('outbound', 'books.default.svc.cluster.local:80', { rt_route: 'GET /books/{id}' });
    r.requests.inc();
    const s = r.response(200, false);
    s.total.inc();
    s.latency.observe(12);
    const text = f.all().map((x) => x.render()).join('');
    expect(text).toContain('route_request_total{direction="outbound",dst="books.default.svc.cluster.local:80",rt_route="GET /books/{id}"} 1');
    expect(text).toContain('route_response_total{direction="outbound",dst="books.default.svc.cluster.local:80",rt_route="GET /books/{id}",status_code="200",classification="success"} 1');
    expect(text).toContain('route_response_latency_ms_bucket{direction="outbound",dst="books.default.svc.cluster.local:80",rt_route="GET /books/{id}",status_code="200",le="20"} 1');
  });

  it('gives inbound routes no route_actual_* series: the server proxy sends each request once', () => {
    const f = new RouteMetricFamilies();
    const r = f.route('inbound', 'books.default.svc.cluster.local:80', {});
    r.requests.inc();
    r.response(200, false).total.inc();
    const text = f.all().map((x) => x.render()).join('');
    expect(text).toContain('route_request_total{direction="inbound",dst="books.default.svc.cluster.local:80"} 1');
    expect(text).not.toContain('route_actual_');
  });
});
