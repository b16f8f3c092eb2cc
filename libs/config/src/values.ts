// Typed parsers for configuration values. Each takes the name of the flag/variable so errors can name it.
import { isIP } from 'node:net';
import { ConfigError } from './errors.ts';

const bad = (name: string, value: string, why: string) =>
  new ConfigError(`invalid value ${JSON.stringify(value)} for ${name}: ${why}`);

// µ is written as an escape: one non-ASCII character in a bundle makes V8 keep the whole source string at two bytes
// per character (~4 MB more heap in each component).
const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, '\u00b5s': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations ("10s", "1m30s", "250ms", "24h"); a bare number is rejected, as Go does. Returns milliseconds. */
export function parseDuration(name: string, value: string): number {
  const s = value.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] ?? 0);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) throw bad(name, value, 'expected a duration such as 10s, 1m30s or 250ms');
  return total;
}

export function parseInteger(name: string, value: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value.trim())) throw bad(name, value, 'expected an integer');
  const n = Number(value);
  if (n < min || n > max) throw bad(name, value, `expected an integer from ${min} to ${max}`);
  return n;
}

export function parsePort(name: string, value: string): number {
  return parseInteger(name, value, 1, 65535);
}

export function parseBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw bad(name, value, 'expected true or false');
}

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** "80,443,8000-8080": single ports and inclusive ranges; empty items are ignored. */
export function parsePortRanges(name: string, value: string): PortRange[] {
  const out: PortRange[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) throw bad(name, value, `${JSON.stringify(item)} is not a port or a range a-b`);
    const from = parsePort(name, m[1] as string);
    const to = m[2] === undefined ? from : parsePort(name, m[2]);
    if (to < from) throw bad(name, value, `range ${item} ends before it starts`);
    out.push({ from, to });
  }
  return out;
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

export function parseCidr(name: string, value: string): Cidr {
  const [address = '', prefixText, ...rest] = value.trim().split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) throw bad(name, value, 'expected an address/prefix such as 10.0.0.0/8');
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : parseInteger(name, prefixText, 0, max);
  return { address, prefix, family: family as 4 | 6 };
}

export function parseCidrList(name: string, value: string): Cidr[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => parseCidr(name, s));
}

export function parseEnum<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw bad(name, value, `expected one of ${allowed.join(', ')}`);
}

export interface ListenAddress {
  /** "" means every interface (IPv6 and IPv4). */
  readonly host: string;
  /** 0 asks the OS for a free port. */
  readonly port: number;
}

/**
 * A listen address: ":8080", "0.0.0.0:8080", "[::]:8080", "localhost:8080". With `requireIp`, the host must be
 * an IP literal (the proxy binds exact addresses); otherwise a name or an empty host is allowed.
 */
export function parseListenAddress(name: string, value: string, opts: { requireIp?: boolean } = {}): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value.trim());
  if (!m) throw bad(name, value, 'expected HOST:PORT such as :8080, 127.0.0.1:8080 or [::1]:8080');
  if (m[1] !== undefined && isIP(m[1]) !== 6) throw bad(name, value, `${m[1]} is not an IPv6 address`);
  const host = m[1] ?? m[2] ?? '';
  if (opts.requireIp && isIP(host) === 0) throw bad(name, value, `${JSON.stringify(host)} is not an IP address`);
  return Object.freeze({ host, port: parseInteger(name, m[3] as string, 0, 65535) });
}
