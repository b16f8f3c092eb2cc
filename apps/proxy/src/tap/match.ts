// A tap's match tree (ObserveRequest.Match) compiled once, when the tap opens, into a predicate over the few facts
// of a request it can test: addresses, destination and route labels, scheme, method, authority and path.
// Semantics follow Linkerd's tap: an empty `all` matches, an empty `any` does not; a port range with one bound is
// that single port; an address outside the netmask's family does not match.
import { isIPv4 } from 'node:net';
import { ipAddressToBytes, type tap, type httpTypes } from '@trellis/proto';
import { InvalidTapError } from './errors.ts';

/** What a match reads from a request; built only for requests seen while a tap is open. */
export interface TapSubject {
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly destinationLabels: Readonly<Record<string, string>>;
  readonly routeLabels: Readonly<Record<string, string>>;
  /** 'http' or 'https'. */
  readonly scheme: string;
  readonly method: string;
  /** Host or :authority, as the client sent it. */
  readonly authority: string;
  /** The path without its query. */
  readonly path: string;
}

export type Matcher = (s: TapSubject) => boolean;

type Match = tap.ObserveRequest_Match;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'HEAD', 'TRACE'];

/** Compiles a match tree; throws InvalidTapError naming the part that cannot match anything sensibly. */
export function compileMatch(m: Match | undefined): Matcher {
  const inner = m?.match;
  if (inner === undefined) throw new InvalidTapError('a match with no condition');
  switch (inner.$case) {
    case 'all': {
      const parts = inner.value.matches.map(compileMatch);
      return (s) => parts.every((p) => p(s));
    }
    case 'any': {
      const parts = inner.value.matches.map(compileMatch);
      return (s) => parts.some((p) => p(s));
    }
    case 'not': {
      const part = compileMatch(inner.value);
      return (s) => !part(s);
    }
    case 'source': {
      const tcp = compileTcp(inner.value, 'source');
      return (s) => tcp(s.sourceIp, s.sourcePort);
    }
    case 'destination': {
      const tcp = compileTcp(inner.value, 'destination');
      return (s) => tcp(s.destinationIp, s.destinationPort);
    }
    case 'destinationLabel': {
      const { key, value } = inner.value;
      return (s) => s.destinationLabels[key] === value;
    }
    case 'routeLabel': {
      const { key, value } = inner.value;
      return (s) => s.routeLabels[key] === value;
    }
    case 'http':
      return compileHttp(inner.value);
  }
}

function compileTcp(t: tap.ObserveRequest_Match_Tcp, side: string): (ip: string, port: number) => boolean {
  const m = t.match;
  if (m === undefined) throw new InvalidTapError(`a ${side} match with neither netmask nor ports`);
  if (m.$case === 'ports') {
    const min = m.value.min === 0 ? m.value.max : m.value.min;
    const max = m.value.max === 0 ? m.value.min : m.value.max;
    if (min === 0) throw new InvalidTapError(`a ${side} port range with no bounds`);
    if (max > 65535 || min > max) throw new InvalidTapError(`${side} port range ${m.value.min}-${m.value.max} is not within 1..65535 in order`);
    return (_ip, port) => port >= min && port <= max;
  }
  const ip = m.value.ip;
  if (ip === undefined) throw new InvalidTapError(`a ${side} netmask with no address`);
  let net: Buffer;
  try {
    net = ipAddressToBytes(ip);
  } catch (err) {
    throw new InvalidTapError(`${side} netmask: ${(err as Error).message}`);
  }
  const bits = net.length * 8;
  const mask = m.value.mask;
  if (mask > bits) throw new InvalidTapError(`${side} netmask /${mask} is longer than the address (${bits} bits)`);
  const v4 = net.length === 4;
  return (addr) => {
    if (isIPv4(addr) !== v4) return false;
    return prefixEquals(net, addrBytes(addr, v4), mask);
  };
}

function addrBytes(addr: string, v4: boolean): Buffer {
  if (v4) return Buffer.from(addr.split('.').map(Number));
  // Expand "::" so the address has eight groups.
  const [head = '', tail] = addr.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return out;
}

function prefixEquals(a: Buffer, b: Buffer, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return ((a[whole] as number) & m) === ((b[whole] as number) & m);
}

function compileHttp(h: tap.ObserveRequest_Match_Http): Matcher {
  const m = h.match;
  if (m === undefined) throw new InvalidTapError('an http match with no condition');
  switch (m.$case) {
    case 'scheme': {
      const want = schemeName(m.value);
      return (s) => s.scheme === want;
    }
    case 'method': {
      const want = methodName(m.value);
      return (s) => s.method === want;
    }
    case 'authority': {
      const sm = compileString(m.value, 'authority');
      return (s) => sm(s.authority);
    }
    case 'path': {
      const sm = compileString(m.value, 'path');
      return (s) => sm(s.path);
    }
  }
}

function compileString(sm: tap.ObserveRequest_Match_Http_StringMatch, what: string): (v: string) => boolean {
  const m = sm.match;
  if (m === undefined) throw new InvalidTapError(`an ${what} match with neither exact nor prefix`);
  const want = m.value;
  return m.$case === 'exact' ? (v) => v === want : (v) => v.startsWith(want);
}

/** The scheme's name as the subject carries it. */
export function schemeName(s: httpTypes.Scheme): string {
  const t = s.type;
  if (t === undefined) throw new InvalidTapError('a scheme match with no scheme');
  if (t.$case === 'unregistered') return t.value.toLowerCase();
  if (t.value === 0) return 'http';
  if (t.value === 1) return 'https';
  throw new InvalidTapError(`scheme ${t.value} is not a registered scheme`);
}

/** The method's name as the subject carries it (upper case). */
export function methodName(m: httpTypes.HttpMethod): string {
  const t = m.type;
  if (t === undefined) throw new InvalidTapError('a method match with no method');
  if (t.$case === 'unregistered') return t.value;
  const name = METHODS[t.value];
  if (name === undefined) throw new InvalidTapError(`method ${t.value} is not a registered method`);
  return name;
}

/** HttpMethod.Registered's value for a method name; -1 when HTTP registers none for it. */
export function registeredMethod(name: string): number {
  return METHODS.indexOf(name);
}

/** The registered method for a name, or the name itself when HTTP registers none for it. */
export function httpMethodOf(name: string): httpTypes.HttpMethod {
  const i = registeredMethod(name);
  return i >= 0 ? { type: { $case: 'registered', value: i as httpTypes.HttpMethod_Registered } } : { type: { $case: 'unregistered', value: name } };
}
