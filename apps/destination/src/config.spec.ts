import { ConfigError, parseCommandLine } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { buildConfig, COMMAND, parseHttp2ClientParams } from './config.ts';

const parse = (argv: string[]) => {
  const r = parseCommandLine(COMMAND, argv);
  if (r.kind !== 'run') throw new Error('expected run');
  return buildConfig(r.values);
};

describe('destination config', () => {
  it("has Linkerd's defaults", () => {
    const cfg = parse([]);
    expect(cfg.addr).toEqual({ host: '', port: 8086 });
    expect(cfg.policyAddr.port).toBe(8090);
    expect(cfg.adminAddr.port).toBe(9996);
    expect(cfg.webhookAddr.port).toBe(-1);
    expect(cfg.controllerNamespace).toBe('trellis');
    expect(cfg.outboundTransportMode).toBe('transport-header');
    expect(cfg.enableH2Upgrade).toBe(true);
    expect(cfg.streamQueueCapacity).toBe(100);
    expect(cfg.defaultPolicy).toBe('all-unauthenticated');
    expect(cfg.defaultOpaquePorts.map((r) => r.from)).toEqual([25, 587, 3306, 4444, 5432, 6379, 9300, 11211]);
    expect(cfg.meshedHttp2ClientParams?.keepAlive).toEqual({ interval: { seconds: 10n, nanos: 0 }, timeout: { seconds: 3n, nanos: 0 }, whileIdle: true });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('reads flags, booleans included', () => {
    const cfg = parse(['--addr', '127.0.0.1:0', '--enable-h2-upgrade=false', '--cluster-domain', 'example.org.', '--stream-queue-capacity', '5', '--sp-validator-addr', ':8443']);
    expect(cfg.addr).toEqual({ host: '127.0.0.1', port: 0 });
    expect(cfg.enableH2Upgrade).toBe(false);
    expect(cfg.clusterDomain).toBe('example.org');
    expect(cfg.streamQueueCapacity).toBe(5);
    expect(cfg.webhookAddr).toEqual({ host: '', port: 8443 });
    expect(cfg.allowL5dRequestHeaders).toBe(false);
    expect(parse(['--allow-l5d-request-headers']).allowL5dRequestHeaders).toBe(true);
  });

  it.each([
    [['--addr', '8086'], '--addr'],
    [['--outbound-transport-mode', 'magic'], '--outbound-transport-mode'],
    [['--stream-queue-capacity', '0'], '--stream-queue-capacity'],
    [['--default-opaque-ports', '3306,x'], '--default-opaque-ports'],
    [['--cluster-networks', '10.0.0.0/33'], '--cluster-networks'],
    [['--meshed-http2-client-params', '{nope'], '--meshed-http2-client-params'],
  ])('rejects %j naming the flag', (argv, flag) => {
    expect(() => parse(argv)).toThrow(ConfigError);
    expect(() => parse(argv)).toThrow(flag);
  });

  it('reads bracketed IPv6 listen addresses and empty http2 params', () => {
    expect(parse(['--addr', '[::1]:8086']).addr).toEqual({ host: '::1', port: 8086 });
    expect(parseHttp2ClientParams('p', '')).toBeUndefined();
  });
});
