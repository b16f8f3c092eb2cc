import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '@trellis/config';
import { tapApiConfig, TAP_API_SPEC } from './config.ts';

const config = (argv: string[]) => {
  const cli = parseCommandLine(TAP_API_SPEC, argv);
  if (cli.kind !== 'run') throw new Error('unexpected command line');
  return tapApiConfig(cli);
};

describe('tap API config', () => {
  it('serves the tap injector only with --injector-addr, and then needs the tap identity', () => {
    expect(config([]).injector).toBeUndefined();
    expect(() => config(['--injector-addr', ':8443'])).toThrow(/^missing --tap-service-name: the tap injector \(--injector-addr\) needs the tap identity/);
    expect(config(['--injector-addr', ':8443', '--tap-service-name', 'tap.v.serviceaccount.identity.$(_l5d_ns).$(_l5d_trustdomain)']).injector).toEqual({
      addr: expect.objectContaining({ port: 8443 }),
      tlsCertFile: '/var/run/trellis/injector-tls/tls.crt',
      tlsKeyFile: '/var/run/trellis/injector-tls/tls.key',
      tapServiceName: 'tap.v.serviceaccount.identity.$(_l5d_ns).$(_l5d_trustdomain)',
    });
  });
});
