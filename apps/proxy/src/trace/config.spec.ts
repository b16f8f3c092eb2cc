import { describe, expect, it } from 'vitest';
import { parseAttributeLines, parseOtelResourceAttributes, parseTraceConfig } from './config.ts';

describe('parseTraceConfig', () => {
  it('is off without a collector address', () => {
    expect(parseTraceConfig({})).toBeUndefined();
  });
  it('gathers resource attributes: service name, labels file, extra attributes, OTEL_RESOURCE_ATTRIBUTES (later wins)', () => {
    const files: Record<string, string> = { '/podinfo/labels': 'app="web-svc"\nversion="v11"\nzone=east\n' };
    const cfg = parseTraceConfig(
      {
        LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: 'collector.linkerd-jaeger:55678',
        LINKERD2_PROXY_TRACE_COLLECTOR_SVC_NAME: 'collector.linkerd-jaeger.serviceaccount.identity.linkerd.cluster.local',
        LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH: '/podinfo/labels',
        LINKERD2_PROXY_TRACE_EXTRA_ATTRIBUTES: 'k8s.pod.ip="10.0.0.7"\nversion="v12"',
        OTEL_RESOURCE_ATTRIBUTES: 'zone=west,team=a%20b',
      },
      (p) => files[p] ?? '',
    );
    expect(cfg?.collector).toMatchObject({ host: 'collector.linkerd-jaeger', port: 55678, loopback: false });
    expect(cfg?.collectorName).toBe('collector.linkerd-jaeger.serviceaccount.identity.linkerd.cluster.local');
    expect(cfg?.attributes).toEqual({ 'service.name': 'linkerd-proxy', app: 'web-svc', version: 'v12', zone: 'west', 'k8s.pod.ip': '10.0.0.7', team: 'a b' });
    expect(cfg?.warnings).toEqual([]);
  });
  it('starts with a warning when the labels file cannot be read', () => {
    const cfg = parseTraceConfig({ LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: '127.0.0.1:4317', LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH: '/nope' }, () => {
      throw new Error('ENOENT');
    });
    expect(cfg?.warnings[0]).toMatch(/LINKERD2_PROXY_TRACE_ATTRIBUTES_PATH.*ENOENT/);
    expect(cfg?.collectorName).toBeUndefined();
  });
  it('refuses a bad address and the OpenCensus protocol by name', () => {
    expect(() => parseTraceConfig({ LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: 'collector' })).toThrow(/LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR/);
    expect(() => parseTraceConfig({ LINKERD2_PROXY_TRACE_COLLECTOR_SVC_ADDR: 'c:1', LINKERD2_PROXY_TRACE_PROTOCOL: 'opencensus' })).toThrow(/LINKERD2_PROXY_TRACE_PROTOCOL/);
  });
});

describe('attribute formats', () => {
  it('downward-API lines: first = splits, quotes dropped, lines without = skipped', () => {
    expect(parseAttributeLines('a="1"\nb==2\nc\nd=\n=e\n')).toEqual({ a: '1', b: '=2', d: '' });
  });
  it('OTEL_RESOURCE_ATTRIBUTES pairs, percent-decoded', () => {
    expect(parseOtelResourceAttributes('a=1, b=x%2Cy,=z,bad')).toEqual({ a: '1', b: 'x,y' });
  });
});
