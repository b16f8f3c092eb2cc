import { describe, expect, it } from 'vitest';
import { DEFAULT_VALUES, resolveValues, ValuesError } from './values.ts';

describe('resolveValues', () => {
  it('keeps defaults for missing keys and nulls and ignores unknown keys', () => {
    const v = resolveValues({ proxy: { logLevel: 'debug', cores: null, unknownKey: 1 }, somethingElse: { a: 1 } });
    expect(v.proxy.logLevel).toBe('debug');
    expect(v.proxy.cores).toBeNull();
    expect(v.proxy.ports).toEqual({ admin: 4191, control: 4190, inbound: 4143, outbound: 4140 });
    expect(v.clusterDomain).toBe('cluster.local');
  });

  it('has Linkerd defaults for the keys injection reads', () => {
    expect(DEFAULT_VALUES.proxy.opaquePorts).toBe('25,587,3306,4444,5432,6379,9300,11211');
    expect(DEFAULT_VALUES.proxyInit.ignoreInboundPorts).toBe('4567,4568');
    expect(DEFAULT_VALUES.proxy.nativeSidecar).toBe(true);
    expect(DEFAULT_VALUES.proxy.logLevel).toBe('warn,linkerd=info,hickory=error');
    expect(DEFAULT_VALUES.proxyInit.iptablesMode).toBe('nft');
  });

  it('accepts numbers written as strings and nullable numbers', () => {
    const v = resolveValues({ proxy: { uid: '3000', runtime: { workers: { maximumCPURatio: 0.5 } } } });
    expect(v.proxy.uid).toBe(3000);
    expect(v.proxy.runtime.workers.maximumCPURatio).toBe(0.5);
  });

  it('names the key path of a value with the wrong type', () => {
    expect(() => resolveValues({ proxy: { ports: { admin: 'lots' } } })).toThrow(new ValuesError('values.proxy.ports.admin: expected a number, got "lots"'));
    expect(() => resolveValues({ proxy: 'x' })).toThrow(/values\.proxy: expected a mapping/);
    expect(() => resolveValues([1])).toThrow(/expected a mapping at the top level/);
    expect(() => resolveValues({ disableIPv6: 'maybe' })).toThrow(/values\.disableIPv6: expected true or false/);
  });

  it('returns frozen values', () => {
    const v = resolveValues({});
    expect(Object.isFrozen(v.proxy.ports)).toBe(true);
  });
});
