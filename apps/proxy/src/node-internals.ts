// Every Node internal the proxy relies on, in one place: the llhttp parser node:http itself uses (through
// `_http_common`, how Node exposes it to JS) for the HTTP/1 fast paths, two properties of node:http objects, and
// two of a server TLSSocket built outside tls.Server (mesh TLS termination). None is public API, so a Node release
// may change them: node-internals.spec.ts names the one that changed. When the parser is not there in the shape
// we use, `httpParser` is undefined and the lean HTTP/1 client and server stand aside, leaving every request to
// node:http (slower, same behaviour); without the TLS handle's verifyError(), client certificates are refused.
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

export interface HttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string });
  finish(): number | (Error & { code?: string }) | undefined;
  close(): void;
  [callback: number]: unknown;
}

export interface HttpParserClass {
  new (): HttpParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}

export interface HttpParserInternals {
  readonly HTTPParser: HttpParserClass;
  /** llhttp's method table: a parsed request's method index names its method here. */
  readonly methods: readonly string[];
}

const PARSER_CONSTANTS = ['REQUEST', 'RESPONSE', 'kOnMessageBegin', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete'] as const;
const PARSER_METHODS = ['initialize', 'execute', 'finish', 'close'] as const;

/** What is missing or different in a loaded `_http_common` from what the lean paths use (empty: all there). */
export function parserProblems(mod: unknown): string[] {
  const m = mod as { HTTPParser?: unknown; methods?: unknown } | undefined;
  if (!m || typeof m.HTTPParser !== 'function') return ['_http_common.HTTPParser is not a constructor'];
  const P = m.HTTPParser as unknown as Record<string, unknown> & { prototype: Record<string, unknown> };
  const out: string[] = [];
  for (const k of PARSER_CONSTANTS) if (typeof P[k] !== 'number') out.push(`HTTPParser.${k} is not a number`);
  for (const k of PARSER_METHODS) if (typeof P.prototype[k] !== 'function') out.push(`HTTPParser.prototype.${k} is not a function`);
  if (!Array.isArray(m.methods) || m.methods[1] !== 'GET') out.push('_http_common.methods is not llhttp\'s method table (methods[1] should be GET)');
  return out;
}

function loadParser(): HttpParserInternals | undefined {
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)('_http_common');
  } catch {
    return undefined;
  }
  return parserProblems(mod).length === 0 ? (mod as HttpParserInternals) : undefined;
}

/** The parser of the lean HTTP/1 paths; undefined when this Node does not have it as they use it. */
export const httpParser: HttpParserInternals | undefined = loadParser();

/**
 * Lets a node:http server answer a client that half-closed after its request (Node's default aborts the request);
 * the connection closes after that response. The property is read by node:http but not in its typings.
 */
export function allowHalfOpen(server: Server): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}

/** Whether node:http has begun writing a response on the socket (its `_httpMessage`), so no error page may follow. */
export function responseStarted(socket: Duplex): boolean {
  return (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
}

/**
 * Why the client's chain did not verify on a server TLSSocket built outside tls.Server (which does not fill
 * `authorized` for it), or undefined when it did: the native handle's verifyError(), which tls.Server reads after
 * the handshake too. Without that handle nothing vouches for the client, and it is refused.
 */
export function clientVerifyError(tls: TLSSocket): string | undefined {
  const handle = (tls as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (!handle?.verifyError) return 'client certificate could not be verified';
  const err = handle.verifyError();
  return err ? (err.code ?? err.message) : undefined;
}

/**
 * Marks a standalone server TLSSocket's handshake done, as tls.Server does: the socket keeps `secureConnecting`
 * otherwise, and http2 then waits forever for a 'secureConnect' that server sockets never emit.
 */
export function handshakeDone(tls: TLSSocket): void {
  (tls as { secureConnecting?: boolean }).secureConnecting = false;
}
