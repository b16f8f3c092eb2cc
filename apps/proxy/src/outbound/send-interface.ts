// The one send interface between the route stages and the endpoint client: the request an attempt sends, its
// body, and how the attempt ends (a response head, whatever protocol carried it, or an error before it).
import type { IncomingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Downstream, Headers } from '../http/exchange.ts';

/** Response headers a client proxy drops: hop-by-hop ones, and those it or the server proxy made for each other. */
export const RESPONSE_DROP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host', 'l5d-orig-proto', 'l5d-proxy-error', 'l5d-proxy-connection']);
/** Request headers that stop at this proxy (l5d-require-id is checked before the endpoint is sent anything). */
export const REQUEST_DROP = 'l5d-require-id';

/** What `send` needs of the client's request (http/downstream.ts Downstream has it). */
export type OutRequest = Pick<Downstream, 'method' | 'target' | 'path' | 'authority' | 'scheme' | 'h1'>;

/** A request body as an attempt sends it: none, buffered whole (replayable), or streamed after a read prefix. */
export type Body = { readonly kind: 'none' } | { readonly kind: 'buffer'; readonly data: Buffer } | { readonly kind: 'stream'; readonly prefix: Buffer; readonly rest: Readable | undefined };

/** One upstream response, whatever carried it. */
export interface UpResponse {
  readonly status: number;
  readonly grpcStatus: number | undefined;
  /** Lower-case names, without pseudo-headers and what RESPONSE_DROP names. */
  readonly headers: Headers;
  readonly body: Readable;
  /** The response had no body (HTTP/2 END_STREAM on its headers). */
  readonly ended: boolean;
  trailers(): IncomingHttpHeaders | undefined;
  /** The HTTP/2 reset code when the upstream stream was reset (not a clean end), else undefined. */
  resetCode(): number | undefined;
  cancel(): void;
}

/** How one attempt ends: its response head, or an error before it (with the HTTP/2 reset code, if any). */
export interface SendListener {
  response(res: UpResponse): void;
  error(err: Error & { rstCode?: number }): void;
  /** The whole request has been handed to the connection. */
  requestEnd(): void;
}

/** Stops an attempt, before or after its response head. */
export interface Sent {
  cancel(): void;
}

export function grpcOf(h: IncomingHttpHeaders | Headers): number | undefined {
  const g = h['grpc-status'];
  const v = Array.isArray(g) ? g[0] : g;
  return typeof v === 'string' ? Number(v) : undefined;
}
