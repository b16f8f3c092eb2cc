// The nat rules proxy-init writes, in Linkerd's order and with Linkerd's comments (linkerd-contracts.md §6.2).
// Pure: configuration and the table's current state in, the ordered rule list out.
import type { ProxyInitConfig } from '../config/config.ts';
import { multiportChunks } from './multiport.ts';

export const REDIRECT_CHAIN = 'PROXY_INIT_REDIRECT';
export const OUTPUT_CHAIN = 'PROXY_INIT_OUTPUT';

export type Family = 4 | 6;

/** One iptables command, as the arguments that follow `-t nat`. */
export interface NatRule {
  readonly args: readonly string[];
}

/** What is already in the nat table, read from `iptables-save -t nat`. */
export interface NatState {
  readonly redirectChainExists: boolean;
  readonly outputChainExists: boolean;
  readonly preroutingJumpExists: boolean;
  readonly outputJumpExists: boolean;
}

export const EMPTY_NAT_STATE: NatState = Object.freeze({
  redirectChainExists: false,
  outputChainExists: false,
  preroutingJumpExists: false,
  outputJumpExists: false,
});

// Linkerd's tests on iptables-save output, so both tools agree on what "already installed" means; the jump
// patterns also insist the chain name ends there, so a jump to PROXY_INIT_OUTPUT_OLD is not taken for ours.
export function readNatState(saveOutput: string): NatState {
  return {
    redirectChainExists: /^:PROXY_INIT_REDIRECT /m.test(saveOutput),
    outputChainExists: /^:PROXY_INIT_OUTPUT /m.test(saveOutput),
    preroutingJumpExists: /^-A PREROUTING (.+ )?-j PROXY_INIT_REDIRECT(?=\s|$)/m.test(saveOutput),
    outputJumpExists: /^-A OUTPUT (.+ )?-j PROXY_INIT_OUTPUT(?=\s|$)/m.test(saveOutput),
  };
}

const comment = (text: string) => ['-m', 'comment', '--comment', `proxy-init/${text}`];
const rule = (...args: string[]): NatRule => ({ args });

// A chain that exists is flushed and reused, so a re-run (an init container restart) converges.
const createOrFlush = (chain: string, exists: boolean) => rule(exists ? '-F' : '-N', chain);

function ignorePorts(chain: string, config: ProxyInitConfig['inboundPortsToIgnore']): NatRule[] {
  return multiportChunks(config).map((chunk) => {
    const ports = chunk.join(',');
    return rule('-A', chain, '-p', 'tcp', '--match', 'multiport', '--dports', ports, '-j', 'RETURN', ...comment(`ignore-port-${ports}`));
  });
}

function inbound(config: ProxyInitConfig, family: Family, state: NatState): NatRule[] {
  const rules = [createOrFlush(REDIRECT_CHAIN, state.redirectChainExists), ...ignorePorts(REDIRECT_CHAIN, config.inboundPortsToIgnore)];
  // A subnet can only be matched by the table of its own address family.
  for (const { cidr } of config.subnetsToIgnore.filter((s) => s.family === family)) {
    rules.push(rule('-A', REDIRECT_CHAIN, '-p', 'all', '-j', 'RETURN', '-s', cidr, ...comment(`ignore-subnet-${cidr}`)));
  }
  const to = String(config.incomingProxyPort);
  if (config.redirectMode === 'redirect-all') {
    rules.push(rule('-A', REDIRECT_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-port', to, ...comment('redirect-all-incoming-to-proxy-port')));
  } else {
    for (const port of config.portsToRedirect) {
      rules.push(
        rule('-A', REDIRECT_CHAIN, '-p', 'tcp', '--destination-port', String(port), '-j', 'REDIRECT', '--to-port', to, ...comment(`redirect-port-${port}-to-proxy-port`)),
      );
    }
  }
  if (!state.preroutingJumpExists) rules.push(rule('-A', 'PREROUTING', '-j', REDIRECT_CHAIN, ...comment('install-proxy-init-prerouting')));
  return rules;
}

function outbound(config: ProxyInitConfig, state: NatState): NatRule[] {
  const rules = [createOrFlush(OUTPUT_CHAIN, state.outputChainExists)];
  // The proxy's own connections must leave untouched, or they would loop back into it.
  if (config.proxyUid > 0) rules.push(rule('-A', OUTPUT_CHAIN, '-m', 'owner', '--uid-owner', String(config.proxyUid), '-j', 'RETURN', ...comment('ignore-proxy-user-id')));
  if (config.proxyGid > 0) rules.push(rule('-A', OUTPUT_CHAIN, '-m', 'owner', '--gid-owner', String(config.proxyGid), '-j', 'RETURN', ...comment('ignore-proxy-group-id')));
  rules.push(rule('-A', OUTPUT_CHAIN, '-o', 'lo', '-j', 'RETURN', ...comment('ignore-loopback')));
  rules.push(...ignorePorts(OUTPUT_CHAIN, config.outboundPortsToIgnore));
  rules.push(rule('-A', OUTPUT_CHAIN, '-p', 'tcp', '-j', 'REDIRECT', '--to-port', String(config.outgoingProxyPort), ...comment('redirect-all-outgoing-to-proxy-port')));
  if (!state.outputJumpExists) rules.push(rule('-A', 'OUTPUT', '-j', OUTPUT_CHAIN, ...comment('install-proxy-init-output')));
  return rules;
}

/** Inbound rules, then outbound rules, for one address family. */
export function buildNatRules(config: ProxyInitConfig, family: Family, state: NatState = EMPTY_NAT_STATE): NatRule[] {
  return [...inbound(config, family, state), ...outbound(config, state)];
}
