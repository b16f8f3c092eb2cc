import { describe, expect, it } from 'vitest';
import { decide } from './decision.ts';
import { DEFAULT_VALUES } from './values.ts';

const spec = { containers: [{ name: 'app', image: 'app:1' }] };

describe('the webhook truth table for linkerd.io/inject', () => {
  it.each([
    // namespace, pod, inject?, reason, annotation_at
    ['enabled', '', true, undefined, 'namespace'],
    ['enabled', 'enabled', true, undefined, 'workload'],
    ['enabled', 'ingress', true, undefined, 'workload'],
    ['ingress', '', true, undefined, 'namespace'],
    ['enabled', 'disabled', false, 'injection_disable_annotation_present', 'workload'],
    ['ingress', 'disabled', false, 'injection_disable_annotation_present', 'workload'],
    ['disabled', 'enabled', true, undefined, 'workload'],
    ['', 'enabled', true, undefined, 'workload'],
    ['', 'ingress', true, undefined, 'workload'],
    ['disabled', 'disabled', false, 'injection_enable_annotation_absent', 'workload'],
    ['disabled', '', false, 'injection_enable_annotation_absent', 'namespace'],
    ['', '', false, 'injection_enable_annotation_absent', ''],
    ['', 'disabled', false, 'injection_enable_annotation_absent', 'workload'],
    ['on', 'enabled', false, 'invalid_inject_annotation_at_ns', 'workload'],
    ['enabled', 'Enabled', false, 'invalid_inject_annotation_at_workload', 'workload'],
  ] as const)('namespace %j, pod %j → inject %s (%s)', (ns, pod, inject, reason, at) => {
    const d = decide(spec, pod, ns, DEFAULT_VALUES, 'webhook');
    expect(d.inject).toBe(inject);
    expect(d.reasons).toEqual(reason ? [reason] : []);
    expect(d.annotationAt).toBe(at);
  });

  it('resolves ingress mode from the pod first, then the namespace', () => {
    expect(decide(spec, '', 'ingress', DEFAULT_VALUES, 'webhook').mode).toBe('ingress');
    expect(decide(spec, 'enabled', 'ingress', DEFAULT_VALUES, 'webhook').mode).toBe('enabled');
    expect(decide(spec, 'ingress', 'enabled', DEFAULT_VALUES, 'webhook').mode).toBe('ingress');
  });
});

describe('the CLI decision', () => {
  it('injects regardless of namespace annotations and skips only a workload annotated disabled', () => {
    expect(decide(spec, '', '', DEFAULT_VALUES, 'cli').inject).toBe(true);
    expect(decide(spec, 'disabled', '', DEFAULT_VALUES, 'cli').reasons).toEqual(['injection_disable_annotation_present']);
  });
});

describe('sidecar detection', () => {
  it.each([
    ['a linkerd-proxy container', { containers: [{ name: 'linkerd-proxy' }] }],
    ['an istio-proxy container', { containers: [{ name: 'istio-proxy' }] }],
    ['a Linkerd proxy image', { containers: [{ name: 'x', image: 'cr.l5d.io/linkerd/proxy:stable-2.14.10' }] }],
    ['an Istio proxyv2 image', { containers: [{ name: 'x', image: 'gcr.io/istio-release/proxyv2:1.20' }] }],
    ['a Trellis proxy image', { containers: [{ name: 'x', image: 'trellis/proxy:0.1.0' }] }],
    ['a native-sidecar linkerd-proxy', { containers: [{ name: 'app' }], initContainers: [{ name: 'linkerd-proxy' }] }],
    ['a linkerd-init init container', { containers: [{ name: 'app' }], initContainers: [{ name: 'linkerd-init' }] }],
    ['an istio-init init container', { containers: [{ name: 'app' }], initContainers: [{ name: 'istio-init' }] }],
    ['a Linkerd proxy-init image', { containers: [{ name: 'app' }], initContainers: [{ name: 'i', image: 'cr.l5d.io/linkerd/proxy-init:v2.4.0' }] }],
  ])('skips a pod with %s', (_what, podSpec) => {
    expect(decide(podSpec, 'enabled', '', DEFAULT_VALUES, 'webhook').reasons).toEqual(['sidecar_already_exists']);
  });
});
