import { describe, expect, it } from 'vitest';
import { configFromArgs, INJECTOR_DEFAULT_ARGS } from '../config/from-args.ts';
import { commandLine, restoreInput, restoreLineOf } from './render.ts';
import { buildNatRules, EMPTY_NAT_STATE, readNatState, type NatRule } from './rules.ts';

const lines = (rules: readonly NatRule[]) => rules.map((r) => commandLine('iptables', r, false));
const required = ['-p', '4143', '-o', '4140'];

// The commands Linkerd's proxy-init logs for the injector's default arguments (linkerd-contracts.md §6.2).
const LINKERD_DEFAULT = [
  'iptables -t nat -N PROXY_INIT_REDIRECT',
  'iptables -t nat -A PROXY_INIT_REDIRECT -p tcp --match multiport --dports 4190,4191,4567,4568 -j RETURN -m comment --comment proxy-init/ignore-port-4190,4191,4567,4568',
  'iptables -t nat -A PROXY_INIT_REDIRECT -p tcp -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-all-incoming-to-proxy-port',
  'iptables -t nat -A PREROUTING -j PROXY_INIT_REDIRECT -m comment --comment proxy-init/install-proxy-init-prerouting',
  'iptables -t nat -N PROXY_INIT_OUTPUT',
  'iptables -t nat -A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -j RETURN -m comment --comment proxy-init/ignore-proxy-user-id',
  'iptables -t nat -A PROXY_INIT_OUTPUT -o lo -j RETURN -m comment --comment proxy-init/ignore-loopback',
  'iptables -t nat -A PROXY_INIT_OUTPUT -p tcp --match multiport --dports 4567,4568 -j RETURN -m comment --comment proxy-init/ignore-port-4567,4568',
  'iptables -t nat -A PROXY_INIT_OUTPUT -p tcp -j REDIRECT --to-port 4140 -m comment --comment proxy-init/redirect-all-outgoing-to-proxy-port',
  'iptables -t nat -A OUTPUT -j PROXY_INIT_OUTPUT -m comment --comment proxy-init/install-proxy-init-output',
];

// iptables-save -t nat after Linkerd's run, as printed in the seed's linkerd-init log.
const LINKERD_SAVED = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PROXY_INIT_OUTPUT - [0:0]
:PROXY_INIT_REDIRECT - [0:0]
-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting" -j PROXY_INIT_REDIRECT
-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output" -j PROXY_INIT_OUTPUT
-A PROXY_INIT_OUTPUT -o lo -m comment --comment "proxy-init/ignore-loopback" -j RETURN
COMMIT
`;

describe('nat rules', () => {
  it("writes exactly Linkerd's rules, in order, for the injector's default arguments", () => {
    expect(lines(buildNatRules(configFromArgs(...INJECTOR_DEFAULT_ARGS), 4))).toEqual(LINKERD_DEFAULT);
  });

  it('writes the same rules for IPv6', () => {
    expect(lines(buildNatRules(configFromArgs(...INJECTOR_DEFAULT_ARGS), 6))).toEqual(LINKERD_DEFAULT);
  });

  it('flushes existing chains instead of creating them and does not add jumps that exist', () => {
    const state = readNatState(LINKERD_SAVED);
    expect(state).toEqual({ redirectChainExists: true, outputChainExists: true, preroutingJumpExists: true, outputJumpExists: true });
    const rerun = lines(buildNatRules(configFromArgs(...INJECTOR_DEFAULT_ARGS), 4, state));
    expect(rerun).toEqual([
      'iptables -t nat -F PROXY_INIT_REDIRECT',
      ...LINKERD_DEFAULT.slice(1, 3),
      'iptables -t nat -F PROXY_INIT_OUTPUT',
      ...LINKERD_DEFAULT.slice(5, 9),
    ]);
  });

  it('treats each chain and jump on its own', () => {
    const state = readNatState(':PROXY_INIT_OUTPUT - [0:0]\n-A PREROUTING -s 10.0.0.0/8 -j PROXY_INIT_REDIRECT\n');
    expect(state).toEqual({ redirectChainExists: false, outputChainExists: true, preroutingJumpExists: true, outputJumpExists: false });
    const rules = lines(buildNatRules(configFromArgs(...required), 4, state));
    expect(rules.filter((l) => / -[NF] /.test(l))).toEqual(['iptables -t nat -N PROXY_INIT_REDIRECT', 'iptables -t nat -F PROXY_INIT_OUTPUT']);
    expect(rules.some((l) => l.includes('-A PREROUTING'))).toBe(false);
    expect(rules.at(-1)).toContain('-A OUTPUT -j PROXY_INIT_OUTPUT');
  });

  it('does not mistake a look-alike chain for ours', () => {
    expect(readNatState(':PROXY_INIT_REDIRECT_OLD - [0:0]\n-A OUTPUT -j PROXY_INIT_OUTPUT_X\n')).toEqual(EMPTY_NAT_STATE);
  });

  it('writes only the required rules when nothing is ignored and no uid is given', () => {
    expect(lines(buildNatRules(configFromArgs(...required), 4))).toEqual([
      LINKERD_DEFAULT[0],
      LINKERD_DEFAULT[2],
      LINKERD_DEFAULT[3],
      LINKERD_DEFAULT[4],
      LINKERD_DEFAULT[6],
      LINKERD_DEFAULT[8],
      LINKERD_DEFAULT[9],
    ]);
  });

  it.each([['0'], ['-1'], ['-7']])('writes no uid exemption for --proxy-uid %s', (uid) => {
    expect(lines(buildNatRules(configFromArgs(...required, '-u', uid), 4)).join('\n')).not.toContain('--uid-owner');
  });

  it('exempts the proxy group after the proxy user and before loopback', () => {
    const out = lines(buildNatRules(configFromArgs(...required, '-u', '2102', '-g', '2103'), 4)).filter((l) => l.includes('PROXY_INIT_OUTPUT -'));
    expect(out.slice(0, 3)).toEqual([
      'iptables -t nat -A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -j RETURN -m comment --comment proxy-init/ignore-proxy-user-id',
      'iptables -t nat -A PROXY_INIT_OUTPUT -m owner --gid-owner 2103 -j RETURN -m comment --comment proxy-init/ignore-proxy-group-id',
      'iptables -t nat -A PROXY_INIT_OUTPUT -o lo -j RETURN -m comment --comment proxy-init/ignore-loopback',
    ]);
    expect(lines(buildNatRules(configFromArgs(...required, '-g', '0'), 4)).join('\n')).not.toContain('--gid-owner');
  });

  it('redirects only the listed ports in redirect-listed mode', () => {
    const out = lines(buildNatRules(configFromArgs(...required, '-r', '80', '-r', '8080'), 4));
    expect(out.slice(1, 3)).toEqual([
      'iptables -t nat -A PROXY_INIT_REDIRECT -p tcp --destination-port 80 -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-port-80-to-proxy-port',
      'iptables -t nat -A PROXY_INIT_REDIRECT -p tcp --destination-port 8080 -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-port-8080-to-proxy-port',
    ]);
    expect(out.join('\n')).not.toContain('redirect-all-incoming');
    expect(out.join('\n')).toContain('redirect-all-outgoing-to-proxy-port');
  });

  it('ignores ports, then subnets of the same family, before redirecting inbound traffic', () => {
    const config = configFromArgs(...required, '--inbound-ports-to-ignore', '25,8000-8100', '--subnets-to-ignore', '10.1.0.0/16,fd00:1::/64,192.168.0.0/24');
    expect(lines(buildNatRules(config, 4)).slice(1, 5)).toEqual([
      'iptables -t nat -A PROXY_INIT_REDIRECT -p tcp --match multiport --dports 25,8000:8100 -j RETURN -m comment --comment proxy-init/ignore-port-25,8000:8100',
      'iptables -t nat -A PROXY_INIT_REDIRECT -p all -j RETURN -s 10.1.0.0/16 -m comment --comment proxy-init/ignore-subnet-10.1.0.0/16',
      'iptables -t nat -A PROXY_INIT_REDIRECT -p all -j RETURN -s 192.168.0.0/24 -m comment --comment proxy-init/ignore-subnet-192.168.0.0/24',
      'iptables -t nat -A PROXY_INIT_REDIRECT -p tcp -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-all-incoming-to-proxy-port',
    ]);
    expect(lines(buildNatRules(config, 6)).slice(2, 4)).toEqual([
      'iptables -t nat -A PROXY_INIT_REDIRECT -p all -j RETURN -s fd00:1::/64 -m comment --comment proxy-init/ignore-subnet-fd00:1::/64',
      'iptables -t nat -A PROXY_INIT_REDIRECT -p tcp -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-all-incoming-to-proxy-port',
    ]);
  });

  it('chunks long ignore lists into several multiport rules with matching comments', () => {
    const ports = Array.from({ length: 16 }, (_, i) => String(5000 + i));
    const out = lines(buildNatRules(configFromArgs(...required, '--outbound-ports-to-ignore', [...ports, '6000-6010'].join(',')), 4)).filter((l) =>
      l.includes('multiport'),
    );
    expect(out).toEqual([
      `iptables -t nat -A PROXY_INIT_OUTPUT -p tcp --match multiport --dports ${ports.slice(0, 15).join(',')} -j RETURN -m comment --comment proxy-init/ignore-port-${ports.slice(0, 15).join(',')}`,
      'iptables -t nat -A PROXY_INIT_OUTPUT -p tcp --match multiport --dports 5015,6000:6010 -j RETURN -m comment --comment proxy-init/ignore-port-5015,6000:6010',
    ]);
  });

  it('combines every option in Linkerd order', () => {
    const config = configFromArgs(
      ...required,
      '-u',
      '2102',
      '-g',
      '2102',
      '-r',
      '80',
      '--inbound-ports-to-ignore',
      '4190',
      '--outbound-ports-to-ignore',
      '443',
      '--subnets-to-ignore',
      '10.0.0.0/8',
    );
    expect(buildNatRules(config, 4).map((r) => r.args.at(-1))).toEqual([
      'PROXY_INIT_REDIRECT',
      'proxy-init/ignore-port-4190',
      'proxy-init/ignore-subnet-10.0.0.0/8',
      'proxy-init/redirect-port-80-to-proxy-port',
      'proxy-init/install-proxy-init-prerouting',
      'PROXY_INIT_OUTPUT',
      'proxy-init/ignore-proxy-user-id',
      'proxy-init/ignore-proxy-group-id',
      'proxy-init/ignore-loopback',
      'proxy-init/ignore-port-443',
      'proxy-init/redirect-all-outgoing-to-proxy-port',
      'proxy-init/install-proxy-init-output',
    ]);
  });

  it('renders one iptables-restore transaction whose line numbers map back to rules', () => {
    const rules = buildNatRules(configFromArgs(...INJECTOR_DEFAULT_ARGS), 4);
    const text = restoreInput(rules);
    const textLines = text.split('\n');
    expect(textLines[0]).toBe('*nat');
    expect(textLines.at(-2)).toBe('COMMIT');
    expect(textLines[restoreLineOf(1) - 1]).toBe('-N PROXY_INIT_REDIRECT');
    expect(textLines[restoreLineOf(10) - 1]).toBe('-A OUTPUT -j PROXY_INIT_OUTPUT -m comment --comment proxy-init/install-proxy-init-output');
  });

  it('appends -w to each command when asked', () => {
    const [first] = buildNatRules(configFromArgs(...required), 4);
    expect(commandLine('/sbin/iptables-legacy', first as NatRule, true)).toBe('/sbin/iptables-legacy -t nat -N PROXY_INIT_REDIRECT -w');
  });
});
