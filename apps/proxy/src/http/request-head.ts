// The RequestHead of each protocol's request: what inbound policy matches on, and header edits applied to what
// is forwarded (HTTP/1: the raw header list the forwarder sends; HTTP/2: the header object it copies).
import type { IncomingMessage } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http2';
import type { RequestHead } from './exchange.ts';

function withoutRaw(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === name.length && n.toLowerCase() === name) continue;
    out.push(n, raw[i + 1] as string);
  }
  return out;
}

export function h1Head(req: IncomingMessage): RequestHead {
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    headers: req.headers,
    connection: req.socket,
    addHeader: (name, value) => void req.rawHeaders.push(name, value),
    setHeader: (name, value) => {
      req.rawHeaders = withoutRaw(req.rawHeaders, name.toLowerCase());
      req.rawHeaders.push(name, value);
    },
    removeHeader: (name) => {
      req.rawHeaders = withoutRaw(req.rawHeaders, name.toLowerCase());
    },
  };
}

export function h2Head(headers: IncomingHttpHeaders, connection: object | undefined): RequestHead {
  const h = headers as Record<string, string | string[] | undefined>;
  return {
    method: String(headers[':method'] ?? 'GET'),
    target: String(headers[':path'] ?? '/'),
    headers,
    connection,
    addHeader: (name, value) => {
      const n = name.toLowerCase();
      const v = h[n];
      h[n] = v === undefined ? value : Array.isArray(v) ? [...v, value] : [v, value];
    },
    setHeader: (name, value) => {
      h[name.toLowerCase()] = value;
    },
    removeHeader: (name) => {
      delete h[name.toLowerCase()];
    },
  };
}
