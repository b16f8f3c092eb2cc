// The HTTP/1 ↔ HTTP/2 upgrade between meshed proxies (linkerd-proxy.md §4 "orig-proto"): the client proxy sends
// an HTTP/1.x request as HTTP/2 with `l5d-orig-proto: HTTP/1.1` (or 1.0, plus "; absolute-form" when the URI
// was absolute), without transfer-encoding; the server proxy restores the request and echoes the header on
// the response, which the client proxy strips to restore the version.
import type { OutgoingHttpHeaders } from 'node:http2';

export const L5D_ORIG_PROTO = 'l5d-orig-proto';
const ABSOLUTE = '; absolute-form';

/** HTTP/1 connection-specific headers that HTTP/2 forbids (RFC 9113 §8.2.2). */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

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
  const h: OutgoingHttpHeaders = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    if (name === 'host') {
      authority ??= value;
      continue;
    }
    if (H2_FORBIDDEN.has(name) || name === L5D_ORIG_PROTO) continue;
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

/** The HTTP/1 request line target for a downgraded request. */
export function downgradeTarget(d: Downgrade, headers: { ':scheme'?: string; ':authority'?: string; ':path'?: string }): string {
  const path = headers[':path'] ?? '/';
  return d.absoluteForm ? `${headers[':scheme'] ?? 'http'}://${headers[':authority'] ?? ''}${path}` : path;
}
