// IP addresses between text, bytes and the proxy API's IPAddress: IPv4 as one big-endian uint32,
// IPv6 as two big-endian uint64 halves.
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidAddressError } from './errors.ts';
import type { IPAddress, IPNetwork } from './gen/net.ts';

const MAX_U32 = 0xffff_ffff;
const MAX_U64 = (1n << 64n) - 1n;

/** Parses "10.0.0.1" or an IPv6 literal ("fd00::1", "::ffff:10.0.0.1"; no zone, no brackets). */
export function ipAddressFromString(text: string): IPAddress {
  return ipAddressFromBytes(ipBytesFromString(text));
}

/** Formats an IPAddress as Node prints addresses: dotted IPv4, RFC 5952 IPv6. */
export function ipAddressToString(address: IPAddress): string {
  const bytes = ipAddressToBytes(address);
  return bytes.length === 4 ? bytes.join('.') : formatIPv6(bytes);
}

/** Builds an IPAddress from 4 (IPv4) or 16 (IPv6) network-order bytes. */
export function ipAddressFromBytes(bytes: Uint8Array): IPAddress {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length === 4) return { ip: { $case: 'ipv4', value: view.getUint32(0) } };
  if (bytes.length === 16) {
    return { ip: { $case: 'ipv6', value: { first: view.getBigUint64(0), last: view.getBigUint64(8) } } };
  }
  throw new InvalidAddressError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

/** The 4 or 16 network-order bytes of an IPAddress. */
export function ipAddressToBytes(address: IPAddress): Buffer {
  const ip = address.ip;
  if (ip === undefined) throw new InvalidAddressError('IPAddress has neither ipv4 nor ipv6 set');
  if (ip.$case === 'ipv4') {
    if (!Number.isInteger(ip.value) || ip.value < 0 || ip.value > MAX_U32) {
      throw new InvalidAddressError(`IPAddress.ipv4 ${ip.value} is not a 32-bit unsigned integer`);
    }
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(ip.value);
    return bytes;
  }
  const { first, last } = ip.value;
  for (const [name, half] of [['first', first], ['last', last]] as const) {
    if (typeof half !== 'bigint' || half < 0n || half > MAX_U64) {
      throw new InvalidAddressError(`IPv6.${name} ${String(half)} is not a 64-bit unsigned integer`);
    }
  }
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64BE(first, 0);
  bytes.writeBigUInt64BE(last, 8);
  return bytes;
}

/** Parses "10.0.0.0/8" or "fd00::/8" into an IPNetwork; the prefix must fit the address family. */
export function ipNetworkFromString(text: string): IPNetwork {
  const slash = text.lastIndexOf('/');
  if (slash < 0) throw new InvalidAddressError(`network "${text}" has no "/prefix"`);
  const ip = ipAddressFromString(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const bits = ip.ip?.$case === 'ipv4' ? 32 : 128;
  const prefixLen = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefixLen <= bits)) {
    throw new InvalidAddressError(`network "${text}" has prefix "${prefixText}", expected 0..${bits}`);
  }
  return { ip, prefixLen };
}

/** Formats an IPNetwork as "address/prefix". */
export function ipNetworkToString(network: IPNetwork): string {
  if (network.ip === undefined) throw new InvalidAddressError('IPNetwork has no ip');
  const bits = network.ip.ip?.$case === 'ipv4' ? 32 : 128;
  if (!Number.isInteger(network.prefixLen) || network.prefixLen < 0 || network.prefixLen > bits) {
    throw new InvalidAddressError(`IPNetwork.prefix_len ${network.prefixLen} is outside 0..${bits}`);
  }
  return `${ipAddressToString(network.ip)}/${network.prefixLen}`;
}

function ipBytesFromString(text: string): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split('.'), Number);
  // node:net accepts zone ids ("fe80::1%eth0"); the proxy API cannot carry them.
  if (isIPv6(text) && !text.includes('%')) return parseIPv6(text);
  throw new InvalidAddressError(`"${text}" is not an IPv4 or IPv6 address`);
}

// Only called on text that isIPv6 accepted, so the shape is already known to be valid.
function parseIPv6(text: string): Uint8Array {
  const groups: number[] = [];
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf('::');
  if (gap < 0) {
    groups.push(...toGroups(text));
  } else {
    const head = toGroups(text.slice(0, gap));
    const tail = toGroups(text.slice(gap + 2));
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

function formatIPv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  // IPv4-mapped addresses keep the dotted tail, as Node reports them for dual-stack sockets.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  // RFC 5952: compress the longest run (first on ties) of two or more zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
