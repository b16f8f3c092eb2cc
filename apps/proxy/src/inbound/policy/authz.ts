// Inbound authorizations (docs/reference/linkerd-contracts.md §1.9 Authz, Network, Authn): who may use a server or a route, by the
// client's address (networks, each with exceptions) and by how it is authenticated (anything, mTLS with any
// client, or mTLS with a client id among names or suffixes). Compiled once per policy update; checking a
// connection or a request is a few byte comparisons against the client address parsed once per connection.
import { ipAddressToBytes, type inbound, type metadata, type net } from '@trellis/proto';
import type { TlsAccept } from '../../tls/labels.ts';

/** A policy object's name as Linkerd labels it: `default` kind with an empty group, or a resource. */
export interface Meta {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

export const defaultMeta = (name: string): Meta => ({ group: '', kind: 'default', name });

export class InvalidPolicyError extends Error {}

/** From a Metadata message (default name or resource). */
export function metaOf(m: metadata.Metadata | undefined): Meta | undefined {
  const k = m?.kind;
  if (!k) return undefined;
  if (k.$case === 'default') return defaultMeta(k.value);
  return { group: k.value.group, kind: k.value.kind, name: k.value.name };
}

/**
 * From the legacy labels map, as Linkerd reads it: `name` is required; an empty group with kind `default` is a
 * default; without a kind, a `default:x` or `kind:x` name carries it; otherwise the given fallbacks apply.
 */
export function metaFromLabels(labels: Readonly<Record<string, string>>, group: string, kind: string): Meta {
  const name = labels['name'];
  if (name === undefined) throw new InvalidPolicyError("missing 'name' label");
  const g = labels['group'] ?? group;
  const k = labels['kind'];
  if (k !== undefined) return g === '' && k === 'default' ? defaultMeta(name) : { group: g, kind: k, name };
  const colon = name.indexOf(':');
  if (colon < 0) return { group: g, kind, name };
  const prefix = name.slice(0, colon);
  const rest = name.slice(colon + 1);
  return prefix === 'default' ? defaultMeta(rest) : { group: g, kind: prefix, name: rest };
}

export const isAudit = (m: Meta): boolean => m.kind === 'default' && m.name === 'audit';

/** Network-order bytes of an IP; IPv4-mapped IPv6 addresses become IPv4 (4 bytes), as the kernel's peers do. */
export function ipBytes(ip: string): Uint8Array | undefined {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(ip);
  if (v4) {
    const parts = v4.slice(1, 5).map(Number);
    return parts.every((x) => x <= 255) ? Uint8Array.from(parts) : undefined;
  }
  if (!ip.includes(':')) return undefined;
  const [head = '', tail, extra] = ip.replace(/%.*$/, '').split('::');
  if (extra !== undefined) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const h = part(head);
  const t = tail === undefined ? [] : part(tail);
  if (tail === undefined ? h.length !== 8 : h.length + t.length > 7) return undefined;
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string;
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  return out;
}

export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  if (c.bytes.length !== ip.length) return false;
  let bits = c.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip[i] as number) & mask) !== ((c.bytes[i] as number) & mask)) return false;
  }
  return true;
}

export function cidrFromText(text: string): Cidr {
  const [addr = '', prefix] = text.split('/');
  const bytes = ipBytes(addr);
  if (!bytes) throw new InvalidPolicyError(`invalid network ${JSON.stringify(text)}`);
  const max = bytes.length * 8;
  const p = prefix === undefined ? max : Number(prefix);
  if (!Number.isInteger(p) || p < 0 || p > max) throw new InvalidPolicyError(`invalid network ${JSON.stringify(text)}`);
  return { bytes, prefix: p };
}

function cidrOf(n: net.IPNetwork | undefined): Cidr {
  if (!n?.ip) throw new InvalidPolicyError('network without an address');
  let bytes: Uint8Array;
  try {
    bytes = ipAddressToBytes(n.ip);
  } catch (err) {
    throw new InvalidPolicyError(`invalid network: ${(err as Error).message}`);
  }
  if (n.prefixLen > bytes.length * 8) throw new InvalidPolicyError(`network prefix /${n.prefixLen} is too long`);
  return { bytes, prefix: n.prefixLen };
}

export interface Network {
  readonly net: Cidr;
  readonly except: readonly Cidr[];
}

export type Authentication =
  | { readonly kind: 'unauthenticated' }
  /** mTLS terminated by this proxy, whatever the client's identity (or none). */
  | { readonly kind: 'tlsUnauthenticated' }
  | { readonly kind: 'tlsAuthenticated'; readonly identities: ReadonlySet<string>; readonly suffixes: readonly string[] };

export interface Authorization {
  readonly meta: Meta;
  readonly networks: readonly Network[];
  readonly authn: Authentication;
}

/** The client as authorization sees it: its address (bytes) and how its connection was accepted. */
export interface Client {
  readonly ip: Uint8Array | undefined;
  readonly tls: TlsAccept | undefined;
}

function inNetworks(networks: readonly Network[], ip: Uint8Array | undefined): boolean {
  if (!ip) return false;
  for (const n of networks) {
    if (!cidrContains(n.net, ip)) continue;
    let excluded = false;
    for (const e of n.except) {
      if (cidrContains(e, ip)) {
        excluded = true;
        break;
      }
    }
    if (!excluded) return true;
  }
  return false;
}

function authenticated(a: Authentication, tls: TlsAccept | undefined): boolean {
  switch (a.kind) {
    case 'unauthenticated':
      return true;
    case 'tlsUnauthenticated':
      return tls?.kind === 'meshed';
    case 'tlsAuthenticated': {
      if (tls?.kind !== 'meshed' || !tls.clientId) return false;
      const id = tls.clientId;
      if (a.identities.has(id)) return true;
      for (const s of a.suffixes) if (id.endsWith(s)) return true;
      return false;
    }
  }
}

export function isAuthorized(a: Authorization, c: Client): boolean {
  return inNetworks(a.networks, c.ip) && authenticated(a.authn, c.tls);
}

/** The first authorization that admits the client (the order the controller sent them in), if any. */
export function authorize(authzs: readonly Authorization[], c: Client): Authorization | undefined {
  for (const a of authzs) if (isAuthorized(a, c)) return a;
  return undefined;
}

/** A suffix's parts ["foo","bar"] stand for "*.foo.bar"; no parts admit every identity. */
export function suffixOf(parts: readonly string[]): string {
  return parts.length === 0 ? '' : `.${parts.join('.')}`;
}

/** Compiles one Authz; throws InvalidPolicyError as Linkerd rejects it (no networks, no authentication). */
export function compileAuthz(a: inbound.Authz): Authorization {
  if (a.networks.length === 0) throw new InvalidPolicyError('authorization without networks');
  const networks = a.networks.map((n) => ({ net: cidrOf(n.net), except: n.except.map(cidrOf) }));
  const permit = a.authentication?.permit;
  if (!permit) throw new InvalidPolicyError('authorization without authentication');
  let authn: Authentication;
  if (permit.$case === 'unauthenticated') authn = { kind: 'unauthenticated' };
  else {
    const clients = permit.value.clients;
    if (!clients) throw new InvalidPolicyError('meshTLS authentication without clients');
    authn =
      clients.$case === 'unauthenticated'
        ? { kind: 'tlsUnauthenticated' }
        : {
            kind: 'tlsAuthenticated',
            identities: new Set(clients.value.identities.map((i) => i.name)),
            suffixes: clients.value.suffixes.map((s) => suffixOf(s.parts)),
          };
  }
  const meta = metaOf(a.metadata) ?? metaFromLabels(a.labels, 'policy.linkerd.io', 'serverauthorization');
  return { meta, networks, authn };
}

/** Linkerd always admits clients on the loopback addresses to servers the controller describes. */
export const LOCALHOST: Authorization = {
  meta: defaultMeta('localhost'),
  networks: [
    { net: cidrFromText('127.0.0.1/32'), except: [] },
    { net: cidrFromText('::1/128'), except: [] },
  ],
  authn: { kind: 'unauthenticated' },
};

