// The node's network on the host: one bridge with the node's pod range (the kubelet's CNI bridge plugin joins each
// pod's network namespace to it), a route for the service range onto it, and a firewall chain that keeps the pod and
// service ranges from ever leaving through another interface. Everything created here carries the trellis name so
// that teardown removes exactly it.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const BRIDGE = 'trellis0';
/** The cluster's pod range; this node takes the first /24. Private, and used only inside this machine's namespaces. */
export const POD_CIDR = '10.244.0.0/16';
export const NODE_POD_CIDR = '10.244.0.0/24';
export const GATEWAY_IP = '10.244.0.1';
export const SERVICE_RANGE = '10.96.0.0/16';
export const DNS_SERVICE_IP = '10.96.0.10';
export const FIREWALL_CHAIN = 'TRELLIS-NODE-FW';

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    return (await exec(cmd, args, { maxBuffer: 4 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

const quiet = (cmd: string, args: string[]) => run(cmd, args).then(() => true, () => false);

/**
 * The firewall chain: traffic of our ranges may use the bridge and loopback, nothing else. It hangs off mangle
 * POSTROUTING, which every outgoing packet (forwarded or local) crosses after routing and kube-proxy's DNAT, and which
 * kube-proxy never edits; conntrack's original addresses catch a Service address translated to somewhere outside.
 */
export const FIREWALL_TABLE = 'mangle';
export const FIREWALL_HOOK = 'POSTROUTING';

export function firewallRules(): string[][] {
  const drop = ['-m', 'comment', '--comment', 'trellis: pod/service range stays on this host', '-j', 'DROP'];
  return [
    ['-o', BRIDGE, '-j', 'RETURN'],
    ['-o', 'lo', '-j', 'RETURN'],
    ...[POD_CIDR, SERVICE_RANGE].flatMap((cidr) => [
      ['-s', cidr, ...drop],
      ['-d', cidr, ...drop],
      ['-m', 'conntrack', '--ctorigsrc', cidr, ...drop],
      ['-m', 'conntrack', '--ctorigdst', cidr, ...drop],
    ]),
  ];
}

export interface HostNetworkState {
  /** The value of net.ipv4.conf.<bridge>.forwarding is ours; nothing global is changed. */
  readonly bridge: string;
}

/** Creates the bridge, its routes and the firewall chain. Fails if a bridge of that name already exists. */
export async function setUpHostNetwork(): Promise<HostNetworkState> {
  if (await quiet('ip', ['link', 'show', BRIDGE])) {
    throw new Error(`network bridge ${BRIDGE} already exists: another node cluster is running (trellis-cluster down --dir ... first)`);
  }
  // The firewall goes in first so that nothing of ours can leak while the rest comes up.
  const ipt = (...args: string[]) => run('iptables', ['-w', '-t', FIREWALL_TABLE, ...args]);
  await ipt('-N', FIREWALL_CHAIN).catch(() => ipt('-F', FIREWALL_CHAIN));
  for (const rule of firewallRules()) await ipt('-A', FIREWALL_CHAIN, ...rule);
  if (!(await quiet('iptables', ['-w', '-t', FIREWALL_TABLE, '-C', FIREWALL_HOOK, '-j', FIREWALL_CHAIN]))) await ipt('-I', FIREWALL_HOOK, '1', '-j', FIREWALL_CHAIN);
  await run('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  // kube-proxy's DNAT must also see pod-to-pod frames that cross the bridge, or replies would skip the un-NAT.
  await run('ip', ['link', 'set', BRIDGE, 'type', 'bridge', 'nf_call_iptables', '1']);
  await run('ip', ['addr', 'add', `${GATEWAY_IP}/24`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', BRIDGE, 'up']);
  // Service IPs are routed to the bridge, so an address kube-proxy does not translate dies here instead of
  // following the default route out of the machine.
  await run('ip', ['route', 'add', SERVICE_RANGE, 'dev', BRIDGE, 'src', GATEWAY_IP]);
  // IPv4 forwarding is decided by the interface a packet came in on: only the bridge forwards.
  writeFileSync(`/proc/sys/net/ipv4/conf/${BRIDGE}/forwarding`, '1');
  return { bridge: BRIDGE };
}

/** Removes the bridge and the firewall chain (the pods' namespaces are the node's runtime's to remove). */
export async function tearDownHostNetwork(): Promise<void> {
  await quiet('ip', ['link', 'del', BRIDGE]);
  const t = ['-w', '-t', FIREWALL_TABLE];
  while (await quiet('iptables', [...t, '-D', FIREWALL_HOOK, '-j', FIREWALL_CHAIN]));
  await quiet('iptables', [...t, '-F', FIREWALL_CHAIN]);
  await quiet('iptables', [...t, '-X', FIREWALL_CHAIN]);
}

/** What is left of the node network on this host (the bridge, our chain, kube-proxy's chains): for tests. */
export async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  if (await quiet('ip', ['link', 'show', BRIDGE])) found.push(`bridge ${BRIDGE}`);
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const rules = await run(save, []).catch(() => '');
    for (const line of rules.split('\n')) if (line.includes(FIREWALL_CHAIN) || /\bKUBE-/.test(line)) found.push(`${save}: ${line}`);
  }
  return found;
}
