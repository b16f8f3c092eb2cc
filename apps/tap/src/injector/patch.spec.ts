import { describe, expect, it } from 'vitest';
import { tapPatch, tapServiceName } from './patch.ts';

const NAME = 'tap.trellis-viz.serviceaccount.identity.$(_l5d_ns).$(_l5d_trustdomain)';
const proxyEnv = [{ name: '_l5d_ns', value: 'trellis' }, { name: '_l5d_trustdomain', value: 'cluster.local' }];
const pod = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', ...(annotations ? { annotations } : {}) }, spec });

describe('tap injector patch', () => {
  it("adds the tap identity to a native-sidecar proxy's env, named plainly from the proxy's own values, and annotates the pod", () => {
    const p = tapPatch(pod({ initContainers: [{ name: 'linkerd-init' }, { name: 'linkerd-proxy', env: proxyEnv }], containers: [{ name: 'app' }] }, { a: 'b' }), { tapServiceName: NAME, namespaceAnnotations: {} });
    expect(p.ops).toEqual([
      { op: 'add', path: '/metadata/annotations/viz.linkerd.io~1tap-enabled', value: 'true' },
      { op: 'add', path: '/spec/initContainers/1/env/-', value: { name: 'LINKERD2_PROXY_TAP_SVC_NAME', value: 'tap.trellis-viz.serviceaccount.identity.trellis.cluster.local' } },
    ]);
  });

  it('patches a proxy among the containers, creating env and annotations when absent, and keeps the expression the kubelet expands', () => {
    const p = tapPatch(pod({ containers: [{ name: 'app' }, { name: 'linkerd-proxy' }] }), { tapServiceName: NAME, namespaceAnnotations: {} });
    expect(p.ops).toEqual([
      { op: 'add', path: '/metadata/annotations', value: { 'viz.linkerd.io/tap-enabled': 'true' } },
      { op: 'add', path: '/spec/containers/1/env', value: [{ name: 'LINKERD2_PROXY_TAP_SVC_NAME', value: NAME }] },
    ]);
  });

  it('leaves alone pods without a proxy, proxies that already have the identity, and pods or namespaces with tap disabled', () => {
    const opts = { tapServiceName: NAME, namespaceAnnotations: {} };
    expect(tapPatch(pod({ containers: [{ name: 'app' }] }), opts)).toEqual({ ops: [], skipped: 'no_proxy' });
    expect(tapPatch({ kind: 'Pod' }, opts)).toEqual({ ops: [], skipped: 'no_proxy' });
    expect(tapPatch(pod({ containers: [{ name: 'linkerd-proxy', env: [{ name: 'LINKERD2_PROXY_TAP_SVC_NAME', value: 'x' }] }] }), opts)).toEqual({ ops: [], skipped: 'already_set' });
    expect(tapPatch(pod({ containers: [{ name: 'linkerd-proxy' }] }, { 'viz.linkerd.io/disable-tap': 'true' }), opts)).toEqual({ ops: [], skipped: 'disabled' });
    expect(tapPatch(pod({ containers: [{ name: 'linkerd-proxy' }] }), { ...opts, namespaceAnnotations: { 'viz.linkerd.io/disable-tap': 'True' } })).toEqual({ ops: [], skipped: 'disabled' });
    expect(tapPatch(pod({ containers: [{ name: 'linkerd-proxy' }] }, { 'viz.linkerd.io/disable-tap': 'false' }), opts).skipped).toBeUndefined();
  });

  it('fills in only literal values: an expression in the proxy env stays for the kubelet', () => {
    expect(tapServiceName(NAME, [{ name: '_l5d_ns', value: '$(FOO)' }, { name: '_l5d_trustdomain', value: 'td.example' }])).toBe('tap.trellis-viz.serviceaccount.identity.$(_l5d_ns).td.example');
  });
});
