import { describe, expect, it } from 'vitest';
import { parseDiscoveryConfig } from './config.ts';

const base = {
  LINKERD2_PROXY_DESTINATION_SVC_ADDR: 'trellis-dst-headless.trellis.svc.cluster.local.:8086',
  LINKERD2_PROXY_DESTINATION_SVC_NAME: 'trellis-destination.trellis.serviceaccount.identity.trellis.cluster.local',
  LINKERD2_PROXY_DESTINATION_CONTEXT: '{"ns":"emojivoto","nodeName":"n1","pod":"web-0"}',
  LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/8,fd00::/8',
};

describe('parseDiscoveryConfig', () => {
  it('reads the injected variables with the control-stream and idle defaults', () => {
    const c = parseDiscoveryConfig(base);
    expect(c.contextToken).toBe(base.LINKERD2_PROXY_DESTINATION_CONTEXT);
    expect(c.profileNetworks.map((n) => `${n.address}/${n.prefix}`)).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect([c.streamInitialTimeoutMs, c.streamIdleTimeoutMs, c.streamLifetimeMs, c.idleTimeoutMs]).toEqual([3_000, 300_000, 3_600_000, 5_000]);
    expect(c.profileSuffixes).toEqual(['svc.cluster.local.']);
  });
  it('enforces initial <= idle <= lifetime, naming the variable', () => {
    expect(() => parseDiscoveryConfig({ ...base, LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT: '10m' })).toThrow(/LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT/);
    expect(() => parseDiscoveryConfig({ ...base, LINKERD2_PROXY_CONTROL_STREAM_LIFETIME: '1m' })).toThrow(/LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT/);
  });
  it('refuses a bad network list, naming the variable', () => {
    expect(() => parseDiscoveryConfig({ ...base, LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS: '10.0.0.0/99' })).toThrow(/LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS/);
  });
});
