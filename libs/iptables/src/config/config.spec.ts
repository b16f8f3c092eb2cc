import { ConfigError, parseCommandLine } from '@trellis/config';
import { describe, expect, it } from 'vitest';
import { parseProxyInitConfig } from './config.ts';
import { proxyInitCommand } from './flags.ts';

const parse = (...argv: string[]) => {
  const cli = parseCommandLine(proxyInitCommand, argv, { write: () => undefined });
  if (cli.kind !== 'run') throw new Error('expected a run');
  return parseProxyInitConfig(cli.values);
};
const required = ['--incoming-proxy-port', '4143', '--outgoing-proxy-port', '4140'];
const errorOf = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
};

describe('proxy-init configuration', () => {
  it("has Linkerd's defaults", () => {
    expect(parse(...required)).toEqual({
      incomingProxyPort: 4143,
      outgoingProxyPort: 4140,
      proxyUid: -1,
      proxyGid: -1,
      redirectMode: 'redirect-all',
      portsToRedirect: [],
      inboundPortsToIgnore: [],
      outboundPortsToIgnore: [],
      subnetsToIgnore: [],
      simulate: false,
      netns: '',
      useWaitFlag: false,
      timeoutCloseWaitSecs: 0,
      logFormat: 'plain',
      logLevel: 'info',
      iptablesMode: undefined,
      ipv6: true,
      firewallBinPath: '',
      firewallSaveBinPath: '',
    });
  });

  it('accepts the short forms -p -o -u -g -r -w', () => {
    const c = parse('-p', '4143', '-o4140', '-u', '2102', '-g', '2103', '-r', '80,8080', '-w');
    expect(c).toMatchObject({ incomingProxyPort: 4143, outgoingProxyPort: 4140, proxyUid: 2102, proxyGid: 2103, useWaitFlag: true });
    expect(c.portsToRedirect).toEqual([80, 8080]);
    expect(c.redirectMode).toBe('redirect-listed');
  });

  it('reads port lists given comma-separated, repeated, and with ranges a-b', () => {
    const c = parse(...required, '--inbound-ports-to-ignore', '4190,4191', '--inbound-ports-to-ignore=8000-8100', '--outbound-ports-to-ignore', '443, 6443');
    expect(c.inboundPortsToIgnore).toEqual([
      { from: 4190, to: 4190 },
      { from: 4191, to: 4191 },
      { from: 8000, to: 8100 },
    ]);
    expect(c.outboundPortsToIgnore).toEqual([
      { from: 443, to: 443 },
      { from: 6443, to: 6443 },
    ]);
  });

  it('reads subnets with their address family', () => {
    expect(parse(...required, '--subnets-to-ignore', '10.0.0.0/8, fd00::/64').subnetsToIgnore).toEqual([
      { cidr: '10.0.0.0/8', family: 4 },
      { cidr: 'fd00::/64', family: 6 },
    ]);
  });

  it('reads the remaining flags', () => {
    const c = parse(
      ...required,
      '--simulate',
      '--netns',
      '/run/netns/pod',
      '--timeout-close-wait-secs',
      '30',
      '--log-format',
      'json',
      '--log-level',
      'warning',
      '--iptables-mode',
      'nft',
      '--ipv6=false',
      '--firewall-bin-path',
      '/sbin/iptables',
      '--firewall-save-bin-path',
      '/sbin/iptables-save',
    );
    expect(c).toMatchObject({
      simulate: true,
      netns: '/run/netns/pod',
      timeoutCloseWaitSecs: 30,
      logFormat: 'json',
      logLevel: 'warn',
      iptablesMode: 'nft',
      ipv6: false,
      firewallBinPath: '/sbin/iptables',
      firewallSaveBinPath: '/sbin/iptables-save',
    });
    expect(parse(...required, '--log-level', 'panic').logLevel).toBe('fatal');
  });

  it.each([
    [[], '--incoming-proxy-port', '"-1"'],
    [['--incoming-proxy-port', '4143'], '--outgoing-proxy-port', '"-1"'],
    [['-p', '0', '-o', '4140'], '--incoming-proxy-port', '"0"'],
    [['-p', '4143', '-o', '65536'], '--outgoing-proxy-port', '"65536"'],
    [['-p', 'http', '-o', '4140'], '--incoming-proxy-port', '"http"'],
    [[...required, '-u', 'proxy'], '--proxy-uid', '"proxy"'],
    [[...required, '-g', '4294967295'], '--proxy-gid', '"4294967295"'],
    [[...required, '-r', '80,x'], '--ports-to-redirect', '"x"'],
    [[...required, '-r', '0'], '--ports-to-redirect', '"0"'],
    [[...required, '--inbound-ports-to-ignore', '4190,abc'], '--inbound-ports-to-ignore', '"abc"'],
    [[...required, '--outbound-ports-to-ignore', '9000-8000'], '--outbound-ports-to-ignore', '9000-8000'],
    [[...required, '--outbound-ports-to-ignore', '1-70000'], '--outbound-ports-to-ignore', '70000'],
    [[...required, '--subnets-to-ignore', '10.0.0.0/33'], '--subnets-to-ignore', '10.0.0.0/33'],
    [[...required, '--subnets-to-ignore', '10.0.0.1'], '--subnets-to-ignore', '"10.0.0.1"'],
    [[...required, '--subnets-to-ignore', 'pods'], '--subnets-to-ignore', '"pods"'],
    [[...required, '--timeout-close-wait-secs', '-5'], '--timeout-close-wait-secs', '"-5"'],
    [[...required, '--log-format', 'text'], '--log-format', '"text"'],
    [[...required, '--log-level', 'loud'], '--log-level', '"loud"'],
    [[...required, '--iptables-mode', 'auto'], '--iptables-mode', '"auto"'],
  ])('rejects %j naming %s and the value', (argv, flag, value) => {
    const err = errorOf(...argv);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('TRELLIS_ERR_CONFIG');
    expect((err as Error).message).toContain(flag);
    expect((err as Error).message).toContain(value);
  });

  it('rejects an unknown flag and a non-boolean --ipv6', () => {
    expect(() => parse(...required, '--redirect-everything')).toThrow(/unknown flag --redirect-everything/);
    expect(() => parse(...required, '--ipv6=maybe')).toThrow(/--ipv6/);
  });
});
