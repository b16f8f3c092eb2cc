import { describe, expect, it } from 'vitest';
import { parseProxyConfig } from '../config.ts';
import { inboundCheck } from './inbound.ts';

describe('inboundCheck', () => {
  const cfg = parseProxyConfig({ TRELLIS_PROXY_PLAINTEXT: 'true', LINKERD2_PROXY_INBOUND_IPS: '10.0.0.5,fd00::5' });
  const check = inboundCheck(cfg, new Set([4140, 4143, 4190, 4191]));

  it.each([4140, 4143, 4190, 4191])("refuses the proxy's own port %i", (port) => {
    expect(check({ ip: '10.0.0.5', port })?.message).toBe(`inbound connection must not target port ${port}`);
  });

  it("refuses an IP that is not one of the pod's", () => {
    expect(check({ ip: '10.0.0.6', port: 80 })?.message).toMatch(/not allowed on this IP address/);
  });

  it("admits the pod's IPs on application ports", () => {
    expect(check({ ip: '10.0.0.5', port: 80 })).toBeUndefined();
    expect(check({ ip: 'FD00::5', port: 80 })).toBeUndefined();
  });

  it('admits the inbound port itself on loopback (kubectl port-forward), and nothing else there', () => {
    const meshed = inboundCheck(cfg, new Set([4140, 4143, 4190, 4191]), { port: 4143 });
    expect(meshed({ ip: '127.0.0.1', port: 4143 })).toBeUndefined();
    expect(meshed({ ip: '::1', port: 4143 })).toBeUndefined();
    expect(meshed({ ip: '127.0.0.1', port: 80 })?.message).toMatch(/not allowed on this IP address/);
    expect(meshed({ ip: '10.0.0.6', port: 4143 })?.message).toMatch(/not allowed on this IP address/);
  });

  it('admits every IP when LINKERD2_PROXY_INBOUND_IPS is unset', () => {
    const open = inboundCheck(parseProxyConfig({ TRELLIS_PROXY_PLAINTEXT: 'true' }), new Set([4143]));
    expect(open({ ip: '192.0.2.1', port: 80 })).toBeUndefined();
  });
});
