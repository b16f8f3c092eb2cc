// CIDR membership for the policy API (cluster networks, egress detection) and conversion to IPNetwork.
import { ipAddressFromString, ipAddressToBytes, ipNetworkFromString, type net } from '@trellis/proto';

function toBig(ip: string): { v: bigint; bits: number } {
  const bytes = ipAddressToBytes(ipAddressFromString(ip));
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return { v, bits: bytes.length * 8 };
}

export function inCidr(ip: string, cidr: string): boolean {
  const slash = cidr.lastIndexOf('/');
  const base = toBig(cidr.slice(0, slash));
  const addr = toBig(ip);
  if (base.bits !== addr.bits) return false;
  const prefix = BigInt(Number(cidr.slice(slash + 1)));
  const shift = BigInt(addr.bits) - prefix;
  return addr.v >> shift === base.v >> shift;
}

export function inAnyCidr(ip: string, cidrs: readonly string[]): boolean {
  return cidrs.some((c) => inCidr(ip, c));
}

export function networks(cidrs: readonly string[]): { net: net.IPNetwork; except: net.IPNetwork[] }[] {
  return cidrs.map((c) => ({ net: ipNetworkFromString(c), except: [] }));
}

function bigOf(n: net.IPNetwork): { v: bigint; bits: number } {
  if (!n.ip) return { v: 0n, bits: 0 };
  const bytes = ipAddressToBytes(n.ip);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return { v, bits: bytes.length * 8 };
}

/** Whether every address of `inner` lies in `outer` (same family, longer or equal prefix, same leading bits). */
export function networkContains(outer: net.IPNetwork, inner: net.IPNetwork): boolean {
  const o = bigOf(outer);
  const i = bigOf(inner);
  if (o.bits === 0 || o.bits !== i.bits || inner.prefixLen < outer.prefixLen) return false;
  const shift = BigInt(o.bits - outer.prefixLen);
  return o.v >> shift === i.v >> shift;
}
