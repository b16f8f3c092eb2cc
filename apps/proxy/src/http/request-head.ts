// The RequestHead of each protocol's request: what inbound policy matches on, and header edits applied to what
// is forwarded (HTTP/1: the raw header list the forwarder sends; HTTP/2: the header object it copies). One
// small object per request, methods on the prototype: policy reads it on every inbound request.
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

class H1Head implements RequestHead {
  readonly #req: IncomingMessage;
  constructor(req: IncomingMessage) {
    this.#req = req;
  }
  get method(): string {
    return this.#req.method ?? 'GET';
  }
  get target(): string {
    return this.#req.url ?? '/';
  }
  get headers(): IncomingMessage['headers'] {
    return this.#req.headers;
  }
  get connection(): object {
    return this.#req.socket;
  }
  addHeader(name: string, value: string): void {
    this.#req.rawHeaders.push(name, value);
  }
  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.#req.rawHeaders.push(name, value);
  }
  removeHeader(name: string): void {
    this.#req.rawHeaders = withoutRaw(this.#req.rawHeaders, name.toLowerCase());
  }
}

class H2Head implements RequestHead {
  readonly headers: IncomingHttpHeaders;
  readonly connection: object | undefined;
  constructor(headers: IncomingHttpHeaders, connection: object | undefined) {
    this.headers = headers;
    this.connection = connection;
  }
  get method(): string {
    return String(this.headers[':method'] ?? 'GET');
  }
  get target(): string {
    return String(this.headers[':path'] ?? '/');
  }
  addHeader(name: string, value: string): void {
    const h = this.headers as Record<string, string | string[] | undefined>;
    const n = name.toLowerCase();
    const v = h[n];
    h[n] = v === undefined ? value : Array.isArray(v) ? [...v, value] : [v, value];
  }
  setHeader(name: string, value: string): void {
    (this.headers as Record<string, string | string[] | undefined>)[name.toLowerCase()] = value;
  }
  removeHeader(name: string): void {
    delete (this.headers as Record<string, unknown>)[name.toLowerCase()];
  }
}

export function h1Head(req: IncomingMessage): RequestHead {
  return new H1Head(req);
}

export function h2Head(headers: IncomingHttpHeaders, connection: object | undefined): RequestHead {
  return new H2Head(headers, connection);
}
