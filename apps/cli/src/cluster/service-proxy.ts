// A local HTTP server that relays every request to one port of a Service through the API server's service proxy
// (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/...`), with the kubeconfig's credentials, as `kubectl proxy`
// does: for a browser on this machine, where port-forward is unavailable (no kubelet that forwards) or refused.
// The Service's pods see the API server as the client, so their policy must admit it.
import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type RequestOptions, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

export interface ServiceProxy {
  readonly port: number;
  /** The Service's root through the API server (what the local root maps to). */
  readonly upstream: string;
  close(): Promise<void>;
}

/** Hop-by-hop headers are the connection's own, never relayed (RFC 9110 §7.6.1). */
/** Host headers a browser on this machine sends. */
const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'authorization']);

function relayedHeaders(h: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

/** `localPort` 0 takes any free port. */
export async function serviceProxy(kc: KubeConfig, namespace: string, service: string, portName: string, localPort = 0): Promise<ServiceProxy> {
  const server = kc.getCurrentCluster()?.server?.replace(/\/+$/, '');
  if (!server) throw new Error('the kubeconfig names no API server');
  const upstream = `${server}/api/v1/namespaces/${namespace}/services/${service}:${portName}/proxy/`;
  const base = new URL(upstream);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;

  const relay = async (req: IncomingMessage, res: ServerResponse) => {
    // As kubectl proxy: only this machine's names, so that a page elsewhere cannot rebind its name to us.
    if (!LOCAL_HOST.test(req.headers.host ?? '')) return void res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end(`host ${JSON.stringify(req.headers.host ?? '')} not allowed: use localhost\n`);
    // The local path, relative to the Service's root (the page's own links are relative); never above it.
    const target = new URL((req.url ?? '/').replace(/^\/+/, ''), base);
    if (!target.pathname.startsWith(base.pathname) || target.origin !== base.origin) return void res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('path outside the dashboard\n');
    // Credentials per request: a token from an exec plugin may have been renewed.
    const opts: RequestOptions & { headers: Record<string, string> } = { headers: {} };
    try {
      await kc.applyToHTTPSOptions(opts);
    } catch (err) {
      return void res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`the kubeconfig's credentials failed: ${(err as Error).message}\n`);
    }
    const up = send(target, { ...opts, method: req.method, headers: { ...relayedHeaders(req.headers), ...opts.headers } }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, relayedHeaders(ures.headers));
      ures.pipe(res);
    });
    up.on('error', (err) => {
      if (res.headersSent) return res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`the API server's service proxy to ${namespace}/${service} failed: ${err.message}\n`);
    });
    req.pipe(up);
  };
  const local = createServer((req, res) => void relay(req, res));
  await new Promise<void>((resolve, reject) => {
    local.once('error', reject);
    local.listen(localPort, '127.0.0.1', () => resolve());
  });
  return {
    port: (local.address() as AddressInfo).port,
    upstream,
    close: () =>
      new Promise<void>((resolve) => {
        local.closeAllConnections();
        local.close(() => resolve());
      }),
  };
}
