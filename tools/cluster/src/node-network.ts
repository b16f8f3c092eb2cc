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
/** Links between the host and further nodes' network namespaces: 10.243.<index>.1 on the host, .2 in the node. */
export const LINK_RANGE = '10.243.0.0/16';
/** Host ends of the veths to further nodes: trellis-v<index>. */
export const VETH_PREFIX = 'trellis-v';

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
 * The firewall chain: traffic of our ranges may use the bridge, the veths to further nodes and loopback, nothing else. It hangs off mangle
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
    ['-o', `${VETH_PREFIX}+`, '-j', 'RETURN'],
    ...[POD_CIDR, SERVICE_RANGE, LINK_RANGE].flatMap((cidr) => [
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

/**
 * A further node (index 2, 3, ...) is a network namespace of its own, named after it, joined to the host by a veth
 * (trellis-v<index> on the host, eth0 inside): the node's address is on eth0, its pods' bridge (trellis0 again, but
 * in its namespace) holds its own /24 of the pod range, and the host routes that /24 to the node. Its containerd,
 * kubelet and kube-proxy run inside the namespace (entered with nsenter --net, which leaves the mount namespace
 * alone), so the node's iptables, bridge and pod veths are its own, and go with the namespace.
 */
export interface NodeNetwork {
  readonly index: number;
  readonly name: string;
  /** Under /run/netns; undefined for the first node, which is the host. */
  readonly netns?: string;
  /** The node's address (kubelet, kube-proxy, the API server's way to the kubelet). */
  readonly ip: string;
  /** The pods' bridge's address: their gateway. */
  readonly gateway: string;
  readonly podCidr: string;
  readonly veth?: string;
}

export function nodeNetwork(index: number, name: string): NodeNetwork {
  if (index === 1) return { index, name, ip: GATEWAY_IP, gateway: GATEWAY_IP, podCidr: NODE_POD_CIDR };
  if (index < 2 || index > 200) throw new Error(`node index ${index} out of range (2..200)`);
  return { index, name, netns: name, ip: `10.243.${index}.2`, gateway: `10.244.${index - 1}.1`, podCidr: `10.244.${index - 1}.0/24`, veth: `${VETH_PREFIX}${index}` };
}

/** `ip` (or another command) inside a node's network namespace. */
export const inNetns = (netns: string, cmd: string, args: readonly string[]) => run('nsenter', [`--net=/run/netns/${netns}`, cmd, ...args]);

/** Creates a further node's namespace, its veth to the host, its pods' bridge and the host's route to its pods. */
export async function setUpNodeNetwork(n: NodeNetwork): Promise<void> {
  if (!n.netns || !n.veth) return;
  const host = `10.243.${n.index}.1`;
  await run('ip', ['netns', 'add', n.netns]);
  await run('ip', ['link', 'add', n.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns]);
  await run('ip', ['addr', 'add', `${host}/24`, 'dev', n.veth]);
  await run('ip', ['link', 'set', n.veth, 'up']);
  writeFileSync(`/proc/sys/net/ipv4/conf/${n.veth}/forwarding`, '1');
  const ip = (...args: string[]) => inNetns(n.netns!, 'ip', args);
  await ip('link', 'set', 'lo', 'up');
  await ip('addr', 'add', `${n.ip}/24`, 'dev', 'eth0');
  await ip('link', 'set', 'eth0', 'up');
  await ip('route', 'add', 'default', 'via', host);
  await ip('link', 'add', BRIDGE, 'type', 'bridge');
  await ip('link', 'set', BRIDGE, 'type', 'bridge', 'nf_call_iptables', '1');
  await ip('addr', 'add', `${n.gateway}/24`, 'dev', BRIDGE);
  await ip('link', 'set', BRIDGE, 'up');
  await ip('route', 'add', SERVICE_RANGE, 'dev', BRIDGE, 'src', n.gateway);
  // The namespace is the node: it forwards between its pods' bridge and its link to the host.
  await inNetns(n.netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await run('ip', ['route', 'add', n.podCidr, 'via', n.ip, 'dev', n.veth]);
}

/** Removes a further node's namespace; its veth, and the host's route through it, go with it. */
export async function tearDownNodeNetwork(n: NodeNetwork): Promise<void> {
  if (!n.netns || !n.veth) return;
  await quiet('ip', ['route', 'del', n.podCidr]);
  await quiet('ip', ['link', 'del', n.veth]);
  await quiet('ip', ['netns', 'del', n.netns]);
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
  for (const line of (await run('ip', ['-o', 'link', 'show']).catch(() => '')).split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith(VETH_PREFIX)) found.push(`veth ${name}`);
  }
  for (const ns of (await run('ip', ['netns', 'list']).catch(() => '')).split('\n').map((l) => l.split(' ')[0] ?? '')) {
    if (ns.startsWith('trellis-node')) found.push(`netns ${ns}`);
  }
  for (const line of (await run('ip', ['route', 'show']).catch(() => '')).split('\n')) {
    if (/^10\.(244|243|96)\./.test(line)) found.push(`route ${line.trim()}`);
  }
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const rules = await run(save, []).catch(() => '');
    for (const line of rules.split('\n')) if (line.includes(FIREWALL_CHAIN) || /\bKUBE-/.test(line)) found.push(`${save}: ${line}`);
  }
  return found;
}
