// Reading the mesh's LINKERD2_PROXY_* variables (identity, discovery, control streams). Linkerd's duration
// syntax is digits plus one unit (ms, s, m, h, d), a bare 0 allowed; control-plane addresses are host:port
// where host is a DNS name (often with a trailing dot) or an IP. Every error names the variable and the value.
import { isIP } from 'node:net';
import { ConfigError } from '@trellis/config';

export type Env = Readonly<Record<string, string | undefined>>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const badValue = (name: string, value: string, why: string) =>
  new ConfigError(`invalid value ${JSON.stringify(value)} for ${name}: ${why}`);

export function linkerdDuration(name: string, value: string): number {
  const m = /^\s*(\d+)(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) throw badValue(name, value, 'expected digits and a unit of ms, s, m, h or d (e.g. 10s, 100ms)');
  const n = Number(m[1]);
  if (m[2] === undefined) {
    if (n !== 0) throw badValue(name, value, 'a duration needs a unit (ms, s, m, h or d); only 0 may omit it');
    return 0;
  }
  return n * (UNIT_MS[m[2]] as number);
}

export interface ControlAddr {
  /** As written, for logs and for grpc-js (which resolves DNS names itself). */
  readonly text: string;
  readonly host: string;
  readonly port: number;
  /** Loopback addresses skip TLS (the identity pod's own proxy reaches identity on localhost). */
  readonly loopback: boolean;
}

export function controlAddr(name: string, value: string): ControlAddr {
  const v = value.trim();
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:[\]]+):(\d+)$/.exec(v);
  if (!m) throw badValue(name, value, 'expected host:port (a DNS name or an IP, IPv6 in brackets)');
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw badValue(name, value, 'the port must be from 1 to 65535');
  const family = isIP(host);
  if (family === 0 && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(host)) {
    throw badValue(name, value, `${JSON.stringify(host)} is neither an IP address nor a DNS name`);
  }
  const bare = host.replace(/\.$/, '').toLowerCase();
  const loopback =
    bare === 'localhost' || (family === 4 && host.startsWith('127.')) || (family === 6 && (host === '::1' || host.toLowerCase() === '::ffff:127.0.0.1'));
  // "localhost." (the injector's form for the identity pod's own proxy) is dialled as "localhost": the resolver
  // matches /etc/hosts only without the trailing dot, and a cluster DNS need not answer for it.
  const dial = bare === 'localhost' ? 'localhost' : host;
  return Object.freeze({ text: family === 6 ? `[${host}]:${port}` : `${dial}:${port}`, host, port, loopback });
}

/** A reader over one environment that remembers nothing and throws ConfigError naming the variable. */
export class EnvReader {
  readonly #env: Env;
  constructor(env: Env) {
    this.#env = env;
  }
  raw(name: string): string | undefined {
    const v = this.#env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  }
  required(name: string): string {
    const v = this.raw(name);
    if (v === undefined) throw new ConfigError(`${name} is required`);
    return v;
  }
  duration(name: string, fallback: string): number {
    return linkerdDuration(name, this.raw(name) ?? fallback);
  }
  optionalDuration(name: string): number | undefined {
    const v = this.raw(name);
    return v === undefined ? undefined : linkerdDuration(name, v);
  }
}
