// proxy-init's command line: Linkerd's flag names, short forms and defaults (linkerd-contracts.md §6.1).
// Integer flags are declared as strings here and parsed in config.ts so errors can name the flag.
import type { CommandSpec } from '@trellis/config';

export const proxyInitCommand: CommandSpec = {
  name: 'proxy-init',
  summary: "trellis proxy-init: writes the iptables rules that send a pod's TCP traffic through its proxy.",
  flags: {
    'incoming-proxy-port': { type: 'string', short: 'p', default: '-1', value: 'PORT', description: 'Port to redirect incoming traffic (required)' },
    'outgoing-proxy-port': { type: 'string', short: 'o', default: '-1', value: 'PORT', description: 'Port to redirect outgoing traffic (required)' },
    'proxy-uid': {
      type: 'string',
      short: 'u',
      default: '-1',
      value: 'UID',
      description: 'User ID the proxy runs as; its traffic is not redirected (no rule unless > 0)',
    },
    'proxy-gid': {
      type: 'string',
      short: 'g',
      default: '-1',
      value: 'GID',
      description: 'Group ID the proxy runs as; its traffic is not redirected (no rule unless > 0)',
    },
    'ports-to-redirect': {
      type: 'list',
      short: 'r',
      default: [],
      value: 'PORTS',
      description: 'Inbound ports to redirect to the proxy; when empty, all ports are redirected',
    },
    'inbound-ports-to-ignore': {
      type: 'list',
      default: [],
      value: 'PORTS',
      description: 'Inbound ports and inclusive ranges a-b that are not redirected (highest precedence)',
    },
    'outbound-ports-to-ignore': {
      type: 'list',
      default: [],
      value: 'PORTS',
      description: 'Outbound ports and inclusive ranges a-b that are not redirected (highest precedence)',
    },
    'subnets-to-ignore': {
      type: 'list',
      default: [],
      value: 'CIDRS',
      description: 'Source subnets whose inbound traffic is not redirected (highest precedence)',
    },
    simulate: { type: 'boolean', default: false, description: "Don't change anything; print what would be run" },
    netns: { type: 'string', default: '', value: 'PATH', description: 'Network namespace (a path) in which to run the iptables commands' },
    'use-wait-flag': { type: 'boolean', short: 'w', default: false, description: 'Append the "-w" flag to the iptables commands' },
    'timeout-close-wait-secs': {
      type: 'string',
      default: '0',
      value: 'SECONDS',
      description: 'Set net.netfilter.nf_conntrack_tcp_timeout_close_wait (unchanged when 0)',
    },
    'log-format': { type: 'string', default: 'plain', value: 'FORMAT', description: "Log format: 'plain' or 'json'" },
    'log-level': { type: 'string', default: 'info', value: 'LEVEL', description: 'Log level: trace, debug, info, warn(ing), error, fatal, panic' },
    'iptables-mode': {
      type: 'string',
      default: '',
      value: 'MODE',
      description: 'iptables variant: "legacy", "nft" or "plain"; overrides --firewall-bin-path and --firewall-save-bin-path',
    },
    ipv6: { type: 'boolean', default: true, description: 'Also program ip6tables, for dual-stack pods' },
    'firewall-bin-path': { type: 'string', default: '', value: 'PATH', description: 'Path to the iptables binary (selects the mode when --iptables-mode is unset)' },
    'firewall-save-bin-path': { type: 'string', default: '', value: 'PATH', description: 'Path to the iptables-save binary' },
  },
  epilog:
    'Rules go to the nat table: chain PROXY_INIT_REDIRECT (from PREROUTING) sends inbound TCP to the incoming port,\n' +
    'chain PROXY_INIT_OUTPUT (from OUTPUT) sends outbound TCP to the outgoing port. Each address family is written\n' +
    'in one iptables-restore transaction; re-running converges.',
};
