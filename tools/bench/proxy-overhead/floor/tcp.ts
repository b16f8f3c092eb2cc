// Floor: a TCP splice (no HTTP at all) to fixed targets: what Node's sockets alone cost per request.
import { connect, createServer } from 'node:net';
import { listening, targets } from './common.ts';

for (const [listen, host, port] of targets()) {
  createServer((c) => {
    const u = connect(port, host);
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  }).listen(listen, '0.0.0.0');
}
listening();
