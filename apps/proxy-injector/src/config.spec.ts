import { parseCommandLine } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { injectorConfig, INJECTOR_SPEC } from './config.ts';
import { parseListenAddress } from '@trellis/config';

const parse = (argv: string[]) => {
  const cli = parseCommandLine(INJECTOR_SPEC, argv);
  if (cli.kind !== 'run') throw new Error('expected a run');
  return injectorConfig(cli);
};

describe('injector configuration', () => {
  it('defaults to Linkerd\'s ports and the trellis namespace', () => {
    expect(parse([])).toMatchObject({ addr: { host: '', port: 8443 }, adminAddr: { host: '', port: 9995 }, controlPlaneNamespace: 'trellis' });
  });

  it.each([
    [':8443', { host: '', port: 8443 }],
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['[::1]:9995', { host: '::1', port: 9995 }],
  ])('reads listen address %s', (text, addr) => {
    expect(parseListenAddress('--addr', text)).toEqual(addr);
  });

  it('names the flag and the value it cannot use', () => {
    expect(() => parse(['--addr', '8443'])).toThrow(/^invalid value "8443" for --addr: expected HOST:PORT/);
    expect(() => parse(['--metrics-addr', ':70000'])).toThrow(/for --metrics-addr: expected an integer from 0 to 65535/);
    expect(() => parse(['--log-level', 'loud'])).toThrow(/invalid value "loud" for --log-level/);
  });
});
