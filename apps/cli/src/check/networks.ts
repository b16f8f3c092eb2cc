// trellis-existence, continued: the install's clusterNetworks must contain every node's pod CIDR, pod IP and
// Service IP, or destination and policy treat in-cluster peers as outside the cluster. Warnings, as in Linkerd.
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { CheckContext } from './context.ts';
import { valueAt } from './context.ts';
import { ok, warn, type Check } from './model.ts';

export interface Networks {
  readonly text: string;
  contains(address: string): boolean;
  /** Both ends of the CIDR are inside (the networks are CIDRs, so the whole range is). */
  containsCidr(cidr: string): boolean;
}

function lastAddress(address: string, prefix: number): string {
  if (isIPv4(address)) {
    const n = address.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n) | ((1n << BigInt(32 - prefix)) - 1n);
    return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  }
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const n = groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g || '0'}`), 0n) | ((1n << BigInt(128 - prefix)) - 1n);
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

export function parseNetworks(text: string): Networks {
  const list = new BlockList();
  for (const raw of text.split(',')) {
    const [address = '', prefix = ''] = raw.trim().split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (family && /^\d+$/.test(prefix)) list.addSubnet(address, Number(prefix), family);
  }
  const contains = (a: string) => (isIPv4(a) ? list.check(a, 'ipv4') : isIPv6(a) ? list.check(a, 'ipv6') : false);
  return {
    text,
    contains,
    containsCidr(cidr) {
      const [address = '', prefix = ''] = cidr.split('/');
      const bits = Number(prefix);
      if (!/^\d+$/.test(prefix) || (!isIPv4(address) && !isIPv6(address))) return false;
      return contains(address) && contains(lastAddress(address, bits));
    },
  };
}

function networksOf(ctx: CheckContext): Networks {
  const text = valueAt(ctx.values, 'clusterNetworks');
  return parseNetworks(typeof text === 'string' ? text : '');
}

const hint = (ctx: CheckContext) => `add them to clusterNetworks (now ${JSON.stringify(String(valueAt(ctx.values, 'clusterNetworks') ?? ''))}): trellis upgrade --set clusterNetworks=... -L ${ctx.ns} | kubectl apply -f -`;

/** At most this many offenders are listed; the count says how many more. */
const LISTED = 10;
const listed = (items: readonly string[]) => [...items.slice(0, LISTED), ...(items.length > LISTED ? [`... and ${items.length - LISTED} more`] : [])].join('\n');

export const clusterNetworkChecks: readonly Check<CheckContext>[] = [
  {
    description: 'cluster networks contains all node podCIDRs',
    run: async (ctx) => {
      const nets = networksOf(ctx);
      const nodes = (await ctx.cluster.core.listNode()).items;
      const outside = nodes.flatMap((n) => (n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])).filter((c) => !nets.containsCidr(c)).map((c) => `node/${n.metadata?.name}: podCIDR ${c}`));
      return outside.length ? warn(`outside the cluster networks:\n${listed(outside)}`, hint(ctx)) : ok;
    },
  },
  {
    description: 'cluster networks contains all pods',
    run: async (ctx) => {
      const nets = networksOf(ctx);
      const pods = (await ctx.cluster.core.listPodForAllNamespaces()).items.filter((p) => !p.spec?.hostNetwork);
      const outside = pods.flatMap((p) => (p.status?.podIPs ?? []).map((i) => i.ip).filter((ip) => ip && !nets.contains(ip)).map((ip) => `pod/${p.metadata?.name} (${p.metadata?.namespace}): ${ip}`));
      return outside.length ? warn(`outside the cluster networks:\n${listed(outside)}`, hint(ctx)) : ok;
    },
  },
  {
    description: 'cluster networks contains all services',
    run: async (ctx) => {
      const nets = networksOf(ctx);
      const services = (await ctx.cluster.core.listServiceForAllNamespaces()).items;
      const outside = services.flatMap((s) =>
        (s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : [])).filter((ip) => ip !== 'None' && ip !== '' && !nets.contains(ip)).map((ip) => `service/${s.metadata?.name} (${s.metadata?.namespace}): ${ip}`),
      );
      return outside.length ? warn(`outside the cluster networks:\n${listed(outside)}`, hint(ctx)) : ok;
    },
  },
];
