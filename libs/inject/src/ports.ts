// Port lists the injector computes from the pod: the inbound ports the proxy serves and the opaque ports.
import { containersOf, type Container, type PodSpec } from './workload.ts';

interface Range {
  from: number;
  to: number;
}

const parsedLists = new Map<string, { ranges: Range[]; names: string[] }>();

/** Parses "25,587,4000-4100" leniently (memoized: the same few lists recur); non-ports are returned in `names`. */
function splitPortList(list: string): { ranges: Range[]; names: string[] } {
  let parsed = parsedLists.get(list);
  if (!parsed) {
    parsed = parsePortList(list);
    if (parsedLists.size > 1024) parsedLists.clear();
    parsedLists.set(list, parsed);
  }
  return parsed;
}

function parsePortList(list: string): { ranges: Range[]; names: string[] } {
  const ranges: Range[] = [];
  const names: string[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (m) {
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (from >= 1 && to <= 65535 && from <= to) ranges.push({ from, to });
      else names.push(item);
    } else names.push(item);
  }
  return { ranges, names };
}

export function portInList(port: number, list: string): boolean {
  return splitPortList(list).ranges.some((r) => port >= r.from && port <= r.to);
}

function containerPorts(containers: readonly Container[]): { port: number; name?: string }[] {
  const out: { port: number; name?: string }[] = [];
  for (const ct of containers) {
    for (const p of Array.isArray(ct.ports) ? ct.ports : []) {
      if (typeof p?.containerPort === 'number') out.push(p.name ? { port: p.containerPort, name: p.name } : { port: p.containerPort });
    }
  }
  return out;
}

/**
 * LINKERD2_PROXY_INBOUND_PORTS: every container port plus HTTP probe ports given as numbers, de-duplicated and
 * sorted as strings (Linkerd sorts the text, so 11211 comes before 80).
 */
export function podInboundPorts(spec: PodSpec): string {
  const set = new Set<string>();
  for (const ct of containersOf(spec)) {
    for (const p of Array.isArray(ct.ports) ? ct.ports : []) if (typeof p?.containerPort === 'number') set.add(String(p.containerPort));
    for (const probe of [ct.livenessProbe, ct.readinessProbe, ct.startupProbe]) {
      const port = probe?.httpGet?.port;
      if (typeof port === 'number') set.add(String(port));
    }
  }
  return [...set].sort().join(',');
}

/**
 * The opaque-ports annotation resolved against the pod: container port names become their numbers, ranges and
 * numbers stay as written, unknown names are dropped with a warning.
 */
export function resolveOpaquePorts(list: string, spec: PodSpec, warnings: string[]): string {
  const named = new Map<string, number>();
  for (const p of containerPorts(containersOf(spec))) if (p.name) named.set(p.name, p.port);
  const out: string[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const byName = named.get(item);
    if (byName !== undefined) out.push(String(byName));
    else if (splitPortList(item).ranges.length === 1) out.push(item);
    else warnings.push(`opaque port ${JSON.stringify(item)} is neither a port, a range, nor a container port name of this pod`);
  }
  return [...new Set(out)].join(',');
}

/** The default opaque ports that the pod actually exposes as container ports, sorted numerically. */
export function exposedDefaultOpaquePorts(spec: PodSpec, defaults: string): string {
  const ports = new Set<number>();
  for (const p of containerPorts(containersOf(spec))) if (portInList(p.port, defaults)) ports.add(p.port);
  return [...ports].sort((a, b) => a - b).join(',');
}

export interface ServicePort {
  port?: number;
  targetPort?: number | string;
}

/** For a Service: each port (its numeric targetPort when set) that is a default opaque port. */
export function serviceDefaultOpaquePorts(ports: readonly ServicePort[], defaults: string): string {
  const out = new Set<number>();
  for (const sp of ports) {
    const p = typeof sp.targetPort === 'number' && sp.targetPort > 0 ? sp.targetPort : sp.port;
    if (typeof p === 'number' && portInList(p, defaults)) out.add(p);
  }
  return [...out].sort((a, b) => a - b).join(',');
}
