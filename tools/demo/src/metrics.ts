// The demo services' admin port (PROM_PORT): /metrics from a prom-client registry and /ping.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

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
