// The demo services' admin port (PROM_PORT): /metrics from a prom-client registry and /ping; and the count of
// calls per caller identity that shows the app sees l5d-client-id.
import { createServer, type Server } from 'node:http';
import type { Metadata } from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';

export function startAdmin(registry: Registry, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      });
      return;
    }
    if (req.url === '/ping') {
      res.end('pong\n');
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(port, '0.0.0.0', () => resolve(server)));
}

/** The mesh identity of a gRPC call's client: the l5d-client-id header a meshed server's proxy sets from the verified
 *  client certificate (and strips from anything else); "" when the call did not come over mTLS. */
export function clientId(metadata: Metadata): string {
  const v = metadata.get('l5d-client-id')[0];
  // A DNS-like name is at most 253 characters: anything longer is not an identity, and a label must stay bounded.
  return typeof v === 'string' && v.length <= 253 ? v : '';
}

/** Counts a service's gRPC calls by method and client identity (`calls_by_client_total`), so that the app's own
 *  /metrics show who the mesh says called it. */
export function callsByClient(registry: Registry): (method: string, metadata: Metadata) => void {
  const calls = new Counter({ name: 'calls_by_client_total', help: 'gRPC calls by method and l5d-client-id', labelNames: ['method', 'client_id'], registers: [registry] });
  return (method, metadata) => calls.inc({ method, client_id: clientId(metadata) });
}
