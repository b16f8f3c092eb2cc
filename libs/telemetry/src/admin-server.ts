// The small admin HTTP server every Trellis process runs: /metrics (Prometheus text), /ping (liveness),
// /ready (readiness from a callback), plus routes a component adds. node:http only: the proxy uses it too.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface AdminServerOptions {
  readonly registry: Registry;
  /** Readiness: /ready answers 200 only while this returns true. */
  readonly ready: () => boolean;
  /** Extra GET routes by exact path. */
  readonly routes?: Readonly<Record<string, AdminHandler>>;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export class AdminServer {
  readonly #server: Server;
  readonly #opts: AdminServerOptions;

  constructor(opts: AdminServerOptions) {
    this.#opts = opts;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, 'internal error\n');
        else res.destroy();
      });
    });
    // Scrapes use keep-alive; do not let idle sockets hold shutdown for the default 5 s.
    this.#server.keepAliveTimeout = 2000;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    switch (path) {
      case '/metrics': {
        const body = await this.#opts.registry.metrics();
        send(res, 200, body, this.#opts.registry.contentType);
        return;
      }
      case '/ping':
        send(res, 200, 'pong\n');
        return;
      case '/ready':
        if (this.#opts.ready()) send(res, 200, 'ready\n');
        else send(res, 503, 'not ready\n');
        return;
    }
    const route = this.#opts.routes?.[path];
    if (route) await route(req, res);
    else send(res, 404, 'not found\n');
  }

  /** Listens on host:port (port 0 picks a free one) and resolves to the bound address. */
  async listen(port: number, host?: string): Promise<AddressInfo> {
    this.#server.listen(port, host);
    await once(this.#server, 'listening'); // rejects with the server's 'error' (EADDRINUSE, EACCES)
    return this.#server.address() as AddressInfo;
  }

  /** Stops accepting and closes idle connections; resolves when every connection is gone. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = once(this.#server, 'close');
    this.#server.close();
    this.#server.closeIdleConnections();
    await closed;
  }
}
