// Is an IP inside one of a list of CIDRs (LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS)? IPv4-mapped IPv6
// addresses are treated as IPv4, as the kernel hands them to a dual-stack listener.
import { isIP } from 'node:net';
import type { Cidr } from '@trellis/config';

function bytesOf(ip: string): Uint8Array | undefined {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(ip);
  if (v4) return Uint8Array.from(v4.slice(1, 5).map(Number));
  if (isIP(ip) !== 6) return undefined;
  const [head = '', tail] = ip.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const h = part(head);
  const t = tail === undefined ? [] : part(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

export function inNetworks(ip: string, networks: readonly Cidr[]): boolean {
  const b = bytesOf(ip);
  if (!b) return false;
  for (const n of networks) {
    const nb = bytesOf(n.address);
    if (!nb || nb.length !== b.length) continue;
    let bits = n.prefix;
    let ok = true;
    for (let i = 0; i < nb.length && bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if (((b[i] as number) & mask) !== ((nb[i] as number) & mask)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}
