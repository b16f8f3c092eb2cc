// Floor: the least node:http proxy (http.Server, a keep-alive Agent, pipe both ways) to fixed targets.
import { Agent, createServer, request } from 'node:http';
import { listening, targets } from './common.ts';

const agent = new Agent({ keepAlive: true });
for (const [listen, host, port] of targets()) {
  createServer((req, res) => {
    const up = request({ host, port, method: req.method, path: req.url, headers: req.headers, agent, setHost: false }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    req.pipe(up);
  }).listen(listen, '0.0.0.0');
}
listening();
