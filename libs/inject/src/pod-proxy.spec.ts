import { describe, expect, it } from 'vitest';
import { proxyContainer, proxyContainerStatus } from './pod-proxy.ts';

describe('the pod proxy', () => {
  it('is found among init containers (native sidecar) and containers, and is absent from a pod without one', () => {
    expect(proxyContainer({ initContainers: [{ name: 'linkerd-init' }, { name: 'linkerd-proxy', image: 'a' }], containers: [{ name: 'web', image: 'w' }] })?.image).toBe('a');
    expect(proxyContainer({ containers: [{ name: 'linkerd-proxy', image: 'b' }, { name: 'web', image: 'w' }] })?.image).toBe('b');
    expect(proxyContainer({ containers: [{ name: 'web' }] })).toBeUndefined();
    expect(proxyContainer(undefined)).toBeUndefined();
  });

  it("status is the proxy's own entry, wherever the kubelet reports it", () => {
    expect(proxyContainerStatus({ initContainerStatuses: [{ name: 'linkerd-proxy', ready: true }], containerStatuses: [{ name: 'web', ready: false }] })?.ready).toBe(true);
    expect(proxyContainerStatus({ containerStatuses: [{ name: 'web', ready: true }, { name: 'linkerd-proxy', ready: false }] })?.ready).toBe(false);
    expect(proxyContainerStatus({ containerStatuses: [{ name: 'web', ready: true }] })).toBeUndefined();
  });
});
