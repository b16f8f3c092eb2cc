import { describe, expect, it } from 'vitest';
import { buildNatRules, configFromArgs, INJECTOR_DEFAULT_ARGS, type ProxyInitConfig } from '@trellis/iptables';
import { parseNetConf } from '../cni/conf.ts';
import { CniError } from '../cni/errors.ts';
import { meshDecision, type PodView } from './meshed.ts';
import { confRedirectConfig, podRedirectConfig } from './settings.ts';

// The chart's conflist entry for the default values.
const redirect = parseNetConf(
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'trellis',
    type: 'trellis-cni',
    linkerd: { 'inbound-ports-to-ignore': ['4567', '4568'], 'outbound-ports-to-ignore': ['4567', '4568'], ipv6: true },
  }),
).redirect;

// A proxy container as the injector renders it (the parts the plugin reads).
const proxy = (env: Record<string, string> = {}, securityContext: Record<string, number> = { runAsUser: 2102 }) => ({
  name: 'linkerd-proxy',
  env: Object.entries({
    LINKERD2_PROXY_CONTROL_LISTEN_ADDR: '0.0.0.0:4190',
    LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '0.0.0.0:4191',
    LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR: '127.0.0.1:4140',
    LINKERD2_PROXY_INBOUND_LISTEN_ADDR: '0.0.0.0:4143',
    ...env,
  }).map(([name, value]) => ({ name, value })),
  securityContext,
});
const pod = (over: { annotations?: Record<string, string>; labels?: Record<string, string>; proxy?: ReturnType<typeof proxy> } = {}): PodView => ({
  metadata: { name: 'web-1', namespace: 'emojivoto', annotations: over.annotations ?? {}, labels: over.labels ?? {} },
  spec: { initContainers: [{ name: 'linkerd-network-validator' }, over.proxy ?? proxy()], containers: [{ name: 'web' }] },
});
const rules = (c: ProxyInitConfig) => buildNatRules(c, 4).map((r) => r.args.join(' '));
const settings = (p: PodView, ns: Record<string, string> = {}, apiServerPorts: string[] = []) =>
  podRedirectConfig(redirect, '/run/netns/p', { pod: p, namespaceAnnotations: ns, apiServerPorts });

describe("a pod's proxy-init settings", () => {
  it("equal the injector's linkerd-init arguments for a pod injected with the default values", () => {
    expect(rules(settings(pod()))).toEqual(rules(configFromArgs(...INJECTOR_DEFAULT_ARGS)));
  });

  it("take the proxy's own ports and uid from its container", () => {
    const c = settings(pod({ proxy: proxy({ LINKERD2_PROXY_INBOUND_LISTEN_ADDR: '[::]:5143', LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR: '127.0.0.1:5140', LINKERD2_PROXY_ADMIN_LISTEN_ADDR: '0.0.0.0:5191' }, { runAsUser: 3000, runAsGroup: 3001 }) }));
    expect([c.incomingProxyPort, c.outgoingProxyPort, c.proxyUid, c.proxyGid]).toEqual([5143, 5140, 3000, 3001]);
    expect(rules(c).join('\n')).toContain('--dports 4190,5191,4567,4568');
  });

  it('let skip annotations on the pod, else on its namespace, replace the lists, keeping the proxy ports inbound', () => {
    const c = settings(pod({ annotations: { 'config.linkerd.io/skip-inbound-ports': '25,8000-8100' } }), { 'config.linkerd.io/skip-outbound-ports': '3306', 'config.linkerd.io/skip-subnets': '10.9.0.0/16' });
    const text = rules(c).join('\n');
    expect(text).toContain('--dports 4190,4191,25,8000:8100');
    expect(text).toContain('PROXY_INIT_OUTPUT -p tcp --match multiport --dports 3306');
    expect(text).toContain('-s 10.9.0.0/16');
  });

  it("leave the API server's ports alone outbound for control-plane pods", () => {
    const c = settings(pod({ labels: { 'linkerd.io/control-plane-component': 'destination' } }), {}, ['443', '6443']);
    expect(rules(c).join('\n')).toContain('--dports 4567,4568,443,6443');
  });

  it("fall back to the proxy-uid and proxy-gid annotations when the proxy container does not say", () => {
    const c = settings(pod({ annotations: { 'config.linkerd.io/proxy-uid': '3100', 'config.linkerd.io/proxy-gid': '3101' }, proxy: proxy({}, {}) }));
    expect([c.proxyUid, c.proxyGid]).toEqual([3100, 3101]);
  });

  it('name the annotation that holds a bad value', () => {
    try {
      settings(pod({}), { 'config.linkerd.io/skip-outbound-ports': 'mysql' });
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(CniError);
      expect((err as CniError).cniCode).toBe(101);
      expect((err as Error).message).toMatch(/invalid value "mysql" for annotation config.linkerd.io\/skip-outbound-ports of namespace emojivoto/);
    }
  });

  it('check the conflist alone on every call', () => {
    expect(() => confRedirectConfig({ ...redirect, 'subnets-to-ignore': ['10.0.0.0'] }, '')).toThrow(/invalid network configuration: invalid value "10.0.0.0" for linkerd.subnets-to-ignore/);
  });
});

describe('which pods are meshed', () => {
  it('those with a linkerd-proxy (sidecar or native) and no linkerd-init', () => {
    expect(meshDecision(pod())).toEqual({ meshed: true });
    expect(meshDecision({ spec: { containers: [{ name: 'app' }, { name: 'linkerd-proxy' }] } })).toEqual({ meshed: true });
    expect(meshDecision({ spec: { containers: [{ name: 'app' }] } })).toMatchObject({ meshed: false, reason: /no linkerd-proxy/ });
    expect(meshDecision({ spec: { initContainers: [{ name: 'linkerd-init' }, { name: 'linkerd-proxy' }] } })).toMatchObject({ meshed: false, reason: /linkerd-init/ });
  });
});
