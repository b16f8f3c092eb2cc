// The HTTP/1 ↔ HTTP/2 upgrade between meshed proxies (docs/reference/linkerd-proxy.md §4 "orig-proto"; what is kept and dropped
// is in docs/reference/orig-proto.md): the client proxy sends an HTTP/1.x request as HTTP/2 with
// `l5d-orig-proto: HTTP/1.1` (or 1.0, plus "; absolute-form" when the URI was absolute), its Host kept as a
// `host` header beside `:authority` (a Linkerd server proxy writes the app's Host from that header only), and
// without the connection-specific headers HTTP/2 forbids. The server proxy restores the request with one Host
// and echoes the header on the response, which the client proxy strips to restore the version. The client's half
// is http/downstream.ts (the headers kept) and outbound/endpoint-client.ts (the HTTP/2 request); this is the server's.
export const L5D_ORIG_PROTO = 'l5d-orig-proto';

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
