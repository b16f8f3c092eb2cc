import { describe, expect, it } from 'vitest';
import type { RequestHead } from '../../http/exchange.ts';
import { ProxyMetrics } from '../../metrics/proxy-metrics.ts';
import { TargetCache } from '../../tcp/targets.ts';
import { ipBytes } from './authz.ts';
import { decide } from './http.ts';
import { InboundAuthzMetrics } from './metrics.ts';
import { defaultServer } from './server.ts';

function head(target: string, host?: string): RequestHead {
  const headers = host === undefined ? {} : { host };
  return { method: 'GET', target, headers, connection: undefined, addHeader: () => undefined, setHeader: () => undefined, removeHeader: () => undefined };
}

describe('decide', () => {
  const metrics = new ProxyMetrics();
  const targets = new TargetCache(metrics, 'all-unauthenticated');
  const client = { ip: ipBytes('192.0.2.7'), tls: { kind: 'plaintext', reason: 'no_tls_from_remote' } } as const;

  function run(policy: 'audit' | 'deny') {
    const lines: { obj: object; msg: string }[] = [];
    const log = { info: (obj: object, msg: string) => lines.push({ obj, msg }), warn: () => undefined, debug: () => undefined };
    const d = { authz: new InboundAuthzMetrics(metrics), log };
    const server = defaultServer(policy, [], 1000, false);
    const entry = targets.get('inbound', '10.0.0.1', 8080, false, { kind: 'plaintext', reason: 'no_tls_from_remote' }, server.meta);
    const decision = decide(d, server, client, '192.0.2.7', head('/x', 'web'), entry);
    return { decision, lines };
  }

  it('admits under audit and logs the request as Linkerd does (authz default:audit)', () => {
    const { decision, lines } = run('audit');
    expect(decision.kind).toBe('allow');
    expect(lines).toEqual([{ msg: 'Request allowed', obj: expect.objectContaining({ authz: 'default:audit', srv: 'default:audit', route: 'default:default', client: '192.0.2.7' }) }]);
  });

  it('denies, counts and logs a request no authorization admits', () => {
    const { decision, lines } = run('deny');
    expect(decision.kind).toBe('deny');
    expect(lines.map((l) => l.msg)).toEqual(['Request denied']);
    expect(metrics.render()).toContain(
      'inbound_http_authz_deny_total{target_addr="10.0.0.1:8080",target_ip="10.0.0.1",target_port="8080",srv_group="",srv_kind="default",srv_name="deny",srv_port="8080",route_group="",route_kind="default",route_name="default",tls="no_identity",no_tls_reason="no_tls_from_remote"} 1',
    );
  });
});
