// Port lists from annotations (config.linkerd.io/opaque-ports, skip-inbound-ports, ...): numbers,
// ranges "a-b", and for opaque ports also port names (container ports of a Pod, ports of a Service).
// Annotations are user input: unparseable items are skipped and reported, never fatal.

export interface PortSet {
  has(port: number): boolean;
}

export interface ParsedPorts {
  readonly set: PortSet;
  /** Items that were neither a port, a range nor a known name. */
  readonly invalid: readonly string[];
}

const EMPTY: PortSet = { has: () => false };

/**
 * Parses "3306,8000-8100,db". `names` resolves a port name (e.g. a container port name) to numbers.
 */
export function parsePortList(text: string | undefined, names: (name: string) => readonly number[] = () => []): ParsedPorts {
  if (text === undefined || text.trim() === '') return { set: EMPTY, invalid: [] };
  const single = new Set<number>();
  const ranges: Array<[number, number]> = [];
  const invalid: string[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    if (m) {
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (from < 1 || to > 65535 || to < from) invalid.push(item);
      else if (from === to) single.add(from);
      else ranges.push([from, to]);
      continue;
    }
    const resolved = names(item);
    if (resolved.length === 0) invalid.push(item);
    for (const p of resolved) single.add(p);
  }
  return { set: { has: (p) => single.has(p) || ranges.some(([a, b]) => p >= a && p <= b) }, invalid };
}
