// The HTTP/1 ↔ HTTP/2 upgrade between meshed proxies (docs/reference/linkerd-proxy.md §4 "orig-proto"; what is kept and dropped
// is in docs/reference/orig-proto.md): the client proxy sends an HTTP/1.x request as HTTP/2 with
// `l5d-orig-proto: HTTP/1.1` (or 1.0, plus "; absolute-form" when the URI was absolute), its Host kept as a
// `host` header beside `:authority` (a Linkerd server proxy writes the app's Host from that header only), and
// without the connection-specific headers HTTP/2 forbids. The server proxy restores the request with one Host
// and echoes the header on the response, which the client proxy strips to restore the version.
import type { OutgoingHttpHeaders } from 'node:http2';

export const L5D_ORIG_PROTO = 'l5d-orig-proto';
const ABSOLUTE = '; absolute-form';

/** HTTP/1 connection-specific headers that HTTP/2 forbids (RFC 9113 §8.2.2); those Connection names go too. */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export interface H1RequestFacts {
  readonly method: string;
  /** As on the request line: origin-form "/path?q" or absolute-form "http://host/path". */
  readonly url: string;
  readonly httpVersion: '1.0' | '1.1';
  /** Raw header pairs [name, value, ...] as received. */
  readonly rawHeaders: readonly string[];
}

/** Whether a request may ride HTTP/2: Upgrade and CONNECT stay HTTP/1 (peer to peer over mTLS). */
export function canUpgrade(req: H1RequestFacts): boolean {
  if (req.method === 'CONNECT') return false;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if ((req.rawHeaders[i] as string).toLowerCase() === 'upgrade') return false;
  return true;
}

/** The HTTP/2 request headers for an upgraded HTTP/1 request. */
export function upgradeRequest(req: H1RequestFacts): OutgoingHttpHeaders {
  let authority: string | undefined;
  let path = req.url;
  let scheme = 'http';
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(req.url);
  if (absolute) {
    const u = new URL(req.url);
    scheme = u.protocol.slice(0, -1);
    authority = u.host;
    path = `${u.pathname}${u.search}` || '/';
  }
  const listed = new Set<string>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if ((req.rawHeaders[i] as string).toLowerCase() === 'connection') for (const t of (req.rawHeaders[i + 1] as string).split(',')) listed.add(t.trim().toLowerCase());
  }
  const h: OutgoingHttpHeaders = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    if (name === 'host') {
      authority ??= value;
      h.host ??= value;
      continue;
    }
    if (H2_FORBIDDEN.has(name) || listed.has(name) || name === L5D_ORIG_PROTO) continue;
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    const prev = h[name];
    h[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  h[':method'] = req.method;
  h[':scheme'] = scheme;
  h[':path'] = path;
  if (authority !== undefined) h[':authority'] = authority;
  h[L5D_ORIG_PROTO] = `HTTP/${req.httpVersion}${absolute ? ABSOLUTE : ''}`;
  return h;
}

export interface Downgrade {
  readonly httpVersion: '1.0' | '1.1';
  readonly absoluteForm: boolean;
}

/** Reads l5d-orig-proto from an HTTP/2 request; undefined when absent or unknown (the request stays HTTP/2). */
export function parseOrigProto(value: string | string[] | undefined): Downgrade | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const m = /^HTTP\/(1\.[01])(; absolute-form)?$/.exec(v.trim());
  if (!m) return undefined;
  return { httpVersion: m[1] as '1.0' | '1.1', absoluteForm: m[2] !== undefined };
}

/**
 * The one Host a downgraded request is written with: the request's own `host` header (an upgrading proxy keeps
 * it), else `:authority`; undefined when it has neither.
 */
export function downgradeHost(headers: { ':authority'?: string; host?: string | string[] }): string | undefined {
  const host = Array.isArray(headers.host) ? headers.host[0] : headers.host;
  return host !== undefined && host !== '' ? host : headers[':authority'];
}

/** The HTTP/1 request line target for a downgraded request. */
export function downgradeTarget(d: Downgrade, headers: { ':scheme'?: string; ':authority'?: string; ':path'?: string }): string {
  const path = headers[':path'] ?? '/';
  return d.absoluteForm ? `${headers[':scheme'] ?? 'http'}://${headers[':authority'] ?? ''}${path}` : path;
}
