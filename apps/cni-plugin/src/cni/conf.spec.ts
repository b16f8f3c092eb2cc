import { describe, expect, it } from 'vitest';
import { parseNetConf } from './conf.ts';
import { CniError } from './errors.ts';

const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'trellis-cni', ...extra });
const rejection = (text: string): { code: number; msg: string } => {
  try {
    parseNetConf(text);
  } catch (err) {
    if (err instanceof CniError) return { code: err.cniCode, msg: err.message };
    throw err;
  }
  throw new Error('accepted');
};

describe('the network configuration on stdin', () => {
  it("reads Linkerd's conflist entry: log level, kubeconfig, proxy-init settings and the previous result", () => {
    const c = parseNetConf(
      conf({
        log_level: 'info',
        policy: { type: 'k8s' },
        kubernetes: { kubeconfig: '/etc/cni/net.d/ZZZ-trellis-cni-kubeconfig' },
        linkerd: { 'incoming-proxy-port': 4143, 'outgoing-proxy-port': 4140, 'proxy-uid': 2102, 'inbound-ports-to-ignore': ['4191', '4190'], 'iptables-mode': 'nft', ipv6: false },
        prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24' }] },
      }),
    );
    expect(c.logLevel).toBe('info');
    expect(c.kubeconfig).toBe('/etc/cni/net.d/ZZZ-trellis-cni-kubeconfig');
    expect(c.redirect['inbound-ports-to-ignore']).toEqual(['4191', '4190']);
    expect(c.redirect['iptables-mode']).toBe('nft');
    expect(c.redirect['outbound-ports-to-ignore']).toEqual([]);
    expect(c.prevResult).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24' }] });
  });

  it.each([
    ['{"cniVersion":', 6, /is not JSON/],
    ['[1,2]', 6, /is \[1,2\], not a JSON object/],
    [JSON.stringify({ name: 'n', type: 't' }), 7, /cniVersion is missing/],
    [conf({ cniVersion: '2.0.0' }), 1, /incompatible CNI version "2.0.0": this plugin supports 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0/],
    [conf({ type: '' }), 7, /type is missing/],
    [conf({ log_level: 'loud' }), 7, /log_level is "loud", expected one of debug, info, warn, error/],
    [conf({ kubernetes: 'x' }), 7, /kubernetes is "x", expected an object/],
    [conf({ kubernetes: { kubeconfig: 7 } }), 7, /kubernetes.kubeconfig is 7, expected a string/],
    [conf({ linkerd: { 'incoming-proxy-port': '4143x' } }), 7, /linkerd.incoming-proxy-port is "4143x", expected an integer/],
    [conf({ linkerd: { 'inbound-ports-to-ignore': '4190' } }), 7, /linkerd.inbound-ports-to-ignore is "4190", expected a list/],
    [conf({ linkerd: { 'outbound-ports-to-ignore': [true] } }), 7, /linkerd.outbound-ports-to-ignore\[0\] is true/],
    [conf({ linkerd: { 'iptables-mode': 'ebpf' } }), 7, /linkerd.iptables-mode is "ebpf", expected legacy, nft or plain/],
    [conf({ linkerd: { 'incoming-port': 4143 } }), 2, /linkerd.incoming-port is not a setting of this plugin/],
    [conf({ prevResult: 'ok' }), 7, /prevResult is "ok"/],
  ])('rejects %s with code %i and a message naming the problem', (text, code, msg) => {
    const r = rejection(text);
    expect(r.code).toBe(code);
    expect(r.msg).toMatch(msg);
  });
});
