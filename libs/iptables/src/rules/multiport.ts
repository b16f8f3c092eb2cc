// Ignore-port lists become `-m multiport --dports` rules. The kernel's multiport match holds at most 15 port
// references; a range a:b takes two of them, a single port (or a range a-a) one.
import type { PortRange } from '@trellis/config';

export const MULTIPORT_LIMIT = 15;

/** How a port or range is written in --dports and in the rule's comment. */
export function formatDestination(range: PortRange): string {
  return range.from === range.to ? String(range.from) : `${range.from}:${range.to}`;
}

/** Splits the list, in order, into chunks of at most 15 port references each. */
export function multiportChunks(ranges: readonly PortRange[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let used = 0;
  for (const range of ranges) {
    const cost = range.from === range.to ? 1 : 2;
    if (used + cost > MULTIPORT_LIMIT) {
      chunks.push(current);
      current = [];
      used = 0;
    }
    current.push(formatDestination(range));
    used += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
