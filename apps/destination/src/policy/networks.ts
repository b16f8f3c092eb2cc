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
