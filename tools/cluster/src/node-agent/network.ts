// The node's network: one bridge on the host with the node's pod range, a network namespace per pod joined to it by a
// veth pair, and a firewall chain that keeps the pod and service ranges from ever leaving through another interface.
// Everything created here carries the trellis name so that teardown removes exactly it.
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync, writeFileSync } from 'node:fs';
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
export const NETNS_PREFIX = 'trellis-pod-';
const NETNS_ETC = '/etc/netns';

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

/** Names of our pod namespaces that exist now. */
export async function podNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']).catch(() => '');
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(NETNS_PREFIX));
}

/** Pids of every process inside a network namespace. */
export async function netnsPids(ns: string): Promise<number[]> {
  const out = await run('ip', ['netns', 'pids', ns]).catch(() => '');
  return out.split(/\s+/).filter(Boolean).map(Number);
}

/** Removes every pod namespace (killing what still runs there), the bridge and the firewall chain. */
export async function tearDownHostNetwork(): Promise<void> {
  for (const ns of await podNamespaces()) await deletePodNetwork(ns).catch(() => undefined);
  const stray = (await readdir(NETNS_ETC).catch(() => [] as string[])).filter((n) => n.startsWith(NETNS_PREFIX));
  for (const dir of stray) await rm(`${NETNS_ETC}/${dir}`, { recursive: true, force: true });
  await quiet('ip', ['link', 'del', BRIDGE]);
  const t = ['-w', '-t', FIREWALL_TABLE];
  while (await quiet('iptables', [...t, '-D', FIREWALL_HOOK, '-j', FIREWALL_CHAIN]));
  await quiet('iptables', [...t, '-F', FIREWALL_CHAIN]);
  await quiet('iptables', [...t, '-X', FIREWALL_CHAIN]);
}

/** What is left of the node network on this host: for tests and `status`. */
export async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const ns of await podNamespaces()) found.push(`netns ${ns}`);
  if (await quiet('ip', ['link', 'show', BRIDGE])) found.push(`bridge ${BRIDGE}`);
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const rules = await run(save, []).catch(() => '');
    for (const line of rules.split('\n')) if (line.includes(FIREWALL_CHAIN) || /\bKUBE-/.test(line)) found.push(`${save}: ${line}`);
  }
  return found;
}

/** Hands out pod addresses from the node's /24, round-robin so a freed address is not reused at once. */
export class AddressPool {
  readonly #used = new Set<number>();
  #next = 2;

  allocate(): string {
    for (let i = 0; i < 253; i++) {
      const n = ((this.#next - 2 + i) % 253) + 2;
      if (!this.#used.has(n)) {
        this.#used.add(n);
        this.#next = n + 1;
        return `10.244.0.${n}`;
      }
    }
    throw new Error(`no free pod address left in ${NODE_POD_CIDR}`);
  }

  release(ip: string): void {
    this.#used.delete(Number(ip.split('.')[3]));
  }
}

export interface PodNetwork {
  readonly netns: string;
  readonly hostVeth: string;
  readonly ip: string;
}

/** Namespace and veth names for a pod uid (interface names are limited to 15 bytes). */
export function podNetworkNames(uid: string): { netns: string; hostVeth: string } {
  const id = uid.replace(/-/g, '').slice(0, 12);
  return { netns: `${NETNS_PREFIX}${id}`, hostVeth: `tv${id}` };
}

/** /etc files `ip netns exec` binds over the host's for processes of this namespace. */
export function podEtcFiles(opts: { hostname: string; ip: string; namespace: string; subdomain?: string }): Record<string, string> {
  const fqdn = opts.subdomain ? `${opts.hostname}.${opts.subdomain}.${opts.namespace}.svc.cluster.local` : undefined;
  return {
    'resolv.conf': `search ${opts.namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${DNS_SERVICE_IP}\noptions ndots:5\n`,
    hosts: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${opts.ip}\t${fqdn ? `${fqdn}\t` : ''}${opts.hostname}\n`,
    hostname: `${opts.hostname}\n`,
  };
}

export async function createPodNetwork(uid: string, ip: string, etc: Record<string, string>): Promise<PodNetwork> {
  const { netns, hostVeth } = podNetworkNames(uid);
  await run('ip', ['netns', 'add', netns]);
  try {
    await run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await run('ip', ['link', 'set', hostVeth, 'master', BRIDGE]);
    // Hairpin lets a pod reach itself through its own Service.
    await run('ip', ['link', 'set', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
    await run('ip', ['link', 'set', hostVeth, 'up']);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', GATEWAY_IP]);
    await mkdir(`${NETNS_ETC}/${netns}`, { recursive: true });
    for (const [file, text] of Object.entries(etc)) await writeFile(`${NETNS_ETC}/${netns}/${file}`, text);
  } catch (err) {
    await deletePodNetwork(netns).catch(() => undefined);
    throw err;
  }
  return { netns, hostVeth, ip };
}

/**
 * Kills anything left in the namespace, then removes it (the veth pair goes with it) and its /etc files. A process
 * that was just killed may still hold the namespace's mount (each `ip netns exec` has its own mount namespace), and
 * then `ip netns del` cannot unlink the file: retry until it is gone rather than leave it behind.
 */
export async function deletePodNetwork(netns: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const pid of await netnsPids(netns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await quiet('ip', ['netns', 'del', netns]);
    if (!existsSync(`/run/netns/${netns}`)) break;
    if (Date.now() > deadline) throw new Error(`network namespace ${netns} is still in use after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await rm(`${NETNS_ETC}/${netns}`, { recursive: true, force: true });
}
