// What a Destination request names: parsing of GetDestination.path and of the context token.
import { isIP } from 'node:net';
import { InvalidRequestError } from '../errors.ts';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "host[:port]" (port 80 when absent; 1..65535); IPv6 literals in brackets. */
export function parseHostPort(path: string): HostPort {
  let host = path;
  let portText: string | undefined;
  if (path.startsWith('[')) {
    const close = path.indexOf(']');
    if (close < 0) throw new InvalidRequestError(`Invalid authority: ${JSON.stringify(path)}`);
    host = path.slice(1, close);
    const rest = path.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new InvalidRequestError(`Invalid authority: ${JSON.stringify(path)}`);
      portText = rest.slice(1);
    }
  } else {
    const colon = path.lastIndexOf(':');
    if (colon >= 0) {
      if (path.indexOf(':') !== colon) throw new InvalidRequestError(`Invalid authority: ${JSON.stringify(path)}`);
      host = path.slice(0, colon);
      portText = path.slice(colon + 1);
    }
  }
  let port = 80;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new InvalidRequestError(`Invalid authority: ${JSON.stringify(path)} has port ${JSON.stringify(portText)}, expected 1..65535`);
  }
  if (host === '') throw new InvalidRequestError(`Invalid authority: ${JSON.stringify(path)} has no host`);
  return { host, port };
}

export type Target =
  | { readonly kind: 'ip'; readonly ip: string; readonly port: number }
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string; readonly port: number; readonly instance: string | undefined };

/** Splits `path` into an IP target or a cluster service name (with an optional StatefulSet instance). */
export function parseTarget(path: string, clusterDomain: string): Target {
  const { host, port } = parseHostPort(path);
  if (isIP(host) !== 0) return { kind: 'ip', ip: host, port };
  const name = serviceName(host, clusterDomain);
  if (!name) throw new InvalidRequestError(`Invalid authority: ${JSON.stringify(path)} is not a service name in cluster domain ${clusterDomain}`);
  return { kind: 'service', ...name, port };
}

/** `<svc>.<ns>.svc.<cd>` or `<instance>.<svc>.<ns>.svc.<cd>` (trailing dot allowed); undefined otherwise. */
export function serviceName(host: string, clusterDomain: string): { namespace: string; name: string; instance: string | undefined } | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  const suffix = `.svc.${clusterDomain.toLowerCase().replace(/\.$/, '')}`;
  if (!h.endsWith(suffix)) return undefined;
  const labels = h.slice(0, -suffix.length).split('.');
  if (labels.some((l) => l === '')) return undefined;
  if (labels.length === 2) return { name: labels[0] as string, namespace: labels[1] as string, instance: undefined };
  if (labels.length === 3) return { instance: labels[0] as string, name: labels[1] as string, namespace: labels[2] as string };
  return undefined;
}

export interface ContextToken {
  readonly ns: string | undefined;
  readonly nodeName: string | undefined;
  readonly pod: string | undefined;
}

/**
 * The proxy's context token: JSON {"ns","nodeName","pod"}, or the legacy "ns:<namespace>". Anything else
 * is treated as no token (the request is still served), as Linkerd does.
 */
export function parseContextToken(token: string): ContextToken {
  const none = { ns: undefined, nodeName: undefined, pod: undefined };
  if (token === '') return none;
  if (token.startsWith('ns:')) return { ...none, ns: token.slice(3) || undefined };
  try {
    const v = JSON.parse(token) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return none;
    const o = v as Record<string, unknown>;
    const s = (x: unknown) => (typeof x === 'string' && x !== '' ? x : undefined);
    return { ns: s(o['ns']), nodeName: s(o['nodeName']), pod: s(o['pod']) };
  } catch {
    return none;
  }
}
