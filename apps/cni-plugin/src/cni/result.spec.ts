import { describe, expect, it } from 'vitest';
import { parseNetConf } from './conf.ts';
import { addResult, versionResult } from './result.ts';

describe('what the plugin prints', () => {
  it("hands on the previous plugin's result in the configuration's version", () => {
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/p' }], ips: [{ address: '10.1.0.5/24', interface: 0 }] };
    const conf = parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'trellis-cni', prevResult }));
    expect(JSON.parse(addResult(conf))).toEqual(prevResult);
  });

  it('reports an empty result when it runs alone, and the versions it speaks', () => {
    const conf = parseNetConf(JSON.stringify({ cniVersion: '0.4.0', name: 'n', type: 'trellis-cni' }));
    expect(JSON.parse(addResult(conf))).toEqual({ cniVersion: '0.4.0', interfaces: [], ips: [], dns: {} });
    expect(JSON.parse(versionResult('0.4.0'))).toEqual({ cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });
});
