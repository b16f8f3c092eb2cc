// A minimal ingress controller for the ingress-mode test, run in a pod from the e2e peers image: every request it
// gets on :8080 goes to one fixed upstream (FORWARD_TO, host:port), with its method, path and headers unchanged (Host
// and l5d-dst-override included), and the answer comes back as it is. Like a real ingress, it knows one address only;
// its meshed proxy in ingress mode is what routes each request by name.
import { createServer, request } from 'node:http';

const [host = '', port = ''] = (process.env['FORWARD_TO'] ?? '').split(':');
if (!host || !/^\d+$/.test(port)) {
  console.error(`forwarder: FORWARD_TO must be host:port, got ${JSON.stringify(process.env['FORWARD_TO'] ?? '')}`);
  process.exit(2);
}

createServer((req, res) => {
  const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  up.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`forwarder: ${err.message}\n`);
  });
  req.pipe(up);
}).listen(8080, () => console.log(`forwarder: :8080 -> ${host}:${port}`));
process.on('SIGTERM', () => process.exit(0));
