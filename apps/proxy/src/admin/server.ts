// The admin server on 4191 (docs/reference/linkerd-proxy.md §6, docs/reference/linkerd-contracts.md §9.1), on node:http: /metrics (gzip when asked),
// /ready, /live, /env.json, /proxy-log-level (loopback only), /shutdown (loopback only, when enabled).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { constants, gzip, type InputType, type ZlibOptions } from 'node:zlib';
import { createServer } from '../http/node-http.ts';

// Compressed on libuv's thread pool, not the event loop, at the fastest level: a large exposition (hundreds of
// KiB) took milliseconds of the loop at the default level, a stall every proxied request shared.
const gzipAsync = (body: InputType, options: ZlibOptions) => new Promise<Buffer>((resolve, reject) => gzip(body, options, (err, out) => (err ? reject(err) : resolve(out))));
const GZIP_OPTIONS = { level: constants.Z_BEST_SPEED } as const;

export interface AdminDeps {
  /** Prometheus text of every registry. */
  readonly metrics: () => Promise<string>;
  readonly isReady: () => boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly getLogFilter: () => string;
  readonly setLogFilter: (filter: string) => boolean;
  readonly shutdownEnabled: boolean;
  readonly shutdown: () => void;
  /** Inbound policy for the admin port: a status to refuse the request with, or undefined to serve it. */
  readonly authorize?: (req: IncomingMessage) => { readonly status: number } | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function text(res: ServerResponse, status: number, body: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function fromLoopback(req: IncomingMessage): boolean {
  const a = req.socket.remoteAddress ?? '';
  return LOOPBACK.has(a) || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined) return true;
  return accept.split(',').some((part) => {
    const t = (part.split(';')[0] ?? '').trim().toLowerCase();
    return t === 'application/json' || t === 'application/*' || t === '*/*';
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

export async function handleAdmin(deps: AdminDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  switch (url.pathname) {
    case '/live':
      return text(res, 200, 'live\n');
    case '/ready':
      return deps.isReady() ? text(res, 200, 'ready\n') : text(res, 503, 'not ready\n');
    case '/metrics': {
      const body = await deps.metrics();
      const type = 'text/plain; version=0.0.4';
      if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
        const gz = await gzipAsync(body, GZIP_OPTIONS);
        res.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip', 'content-length': gz.length });
        res.end(gz);
        return;
      }
      return text(res, 200, body, type);
    }
    case '/env.json': {
      if (req.method !== 'GET') return text(res, 405, 'method not allowed\n');
      if (!acceptsJson(req.headers.accept)) return text(res, 406, 'env.json is only available as application/json\n');
      const keys = url.search.length > 1 ? url.search.slice(1).split('&').filter(Boolean) : undefined;
      if (keys?.some((k) => k.includes('='))) return text(res, 400, 'env.json query must be a list of variable names\n');
      const out: Record<string, string | null> = {};
      if (keys) for (const k of keys.map(decodeURIComponent)) out[k] = deps.env[k] ?? null;
      else for (const [k, v] of Object.entries(deps.env)) if (v !== undefined) out[k] = v;
      return text(res, 200, JSON.stringify(out), 'application/json');
    }
    case '/proxy-log-level': {
      if (!fromLoopback(req)) return text(res, 403, 'Requests are only permitted from localhost.\n');
      if (req.method === 'GET') return text(res, 200, deps.getLogFilter());
      if (req.method === 'PUT') {
        const body = await readBody(req, 4096);
        if (body === undefined || !deps.setLogFilter(body.trim())) return text(res, 400, 'invalid log filter\n');
        return text(res, 204, '');
      }
      return text(res, 405, 'method not allowed\n');
    }
    case '/shutdown': {
      if (req.method !== 'POST') return text(res, 405, 'method not allowed\n');
      if (!fromLoopback(req)) return text(res, 403, 'Requests are only permitted from localhost.\n');
      if (!deps.shutdownEnabled) return text(res, 404, 'shutdown endpoint is not enabled\n');
      text(res, 200, 'shutdown\n');
      deps.shutdown();
      return;
    }
    default:
      res.writeHead(404, { 'content-length': 0 });
      res.end();
  }
}

/** The admin endpoints as one request handler, for HTTP/1 (node:http) and HTTP/2 (node:http2's compatibility API). */
export function adminHandler(deps: AdminDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const refused = deps.authorize?.(req);
    if (refused) {
      res.writeHead(refused.status, { 'content-length': 0 });
      res.end();
      return;
    }
    handleAdmin(deps, req, res).catch((err: unknown) => {
      if (!res.headersSent) text(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  };
}

export function createAdminServer(deps: AdminDeps): Server {
  return createServer(adminHandler(deps));
}
