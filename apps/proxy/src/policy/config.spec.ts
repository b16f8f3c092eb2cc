import { describe, expect, it } from 'vitest';
import { parsePolicyConfig } from './config.ts';

const base = {
  LINKERD2_PROXY_POLICY_SVC_ADDR: 'trellis-policy.trellis.svc.cluster.local.:8090',
  LINKERD2_PROXY_POLICY_SVC_NAME: 'trellis-destination.trellis.serviceaccount.identity.trellis.cluster.local',
  LINKERD2_PROXY_POLICY_WORKLOAD: '{"ns":"emojivoto", "pod":"web-1"}\n',
};

describe('policy config', () => {
  it('reads the controller address, its identity, the workload and the eager inbound ports', () => {
    const c = parsePolicyConfig({ ...base, LINKERD2_PROXY_INBOUND_PORTS: '8080,9000-9002' });
    expect(c.svcAddr?.port).toBe(8090);
    expect(c.svcName).toBe('trellis-destination.trellis.serviceaccount.identity.trellis.cluster.local');
    expect(c.workload).toBe('{"ns":"emojivoto", "pod":"web-1"}');
    expect(c.inboundPorts).toEqual([8080, 9000, 9001, 9002]);
    expect(c.clusterNetworks.map((n) => `${n.address}/${n.prefix}`)).toContain('fd00::/8');
  });

  it('runs without a policy controller when no address is given', () => {
    expect(parsePolicyConfig({}).svcAddr).toBeUndefined();
  });

  it('names the missing or bad variable', () => {
    expect(() => parsePolicyConfig({ ...base, LINKERD2_PROXY_POLICY_WORKLOAD: '' })).toThrow(/LINKERD2_PROXY_POLICY_WORKLOAD is required/);
    expect(() => parsePolicyConfig({ ...base, LINKERD2_PROXY_POLICY_SVC_NAME: undefined })).toThrow(/LINKERD2_PROXY_POLICY_SVC_NAME is required/);
    expect(() => parsePolicyConfig({ ...base, LINKERD2_PROXY_INBOUND_PORTS: '80,x' })).toThrow(/LINKERD2_PROXY_INBOUND_PORTS/);
    expect(() => parsePolicyConfig({ ...base, LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS: '10.0.0.0/33' })).toThrow(/LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS/);
  });
});
