// Floor: an HTTP/1 proxy on Node's own parser (relay.ts) over plain TCP to fixed targets.
import { connect, createServer } from 'node:net';
import { listening, targets } from './common.ts';
import { relay } from './relay.ts';

for (const [listen, host, port] of targets()) {
  createServer((c) => relay(c, connect(port, host))).listen(listen, '0.0.0.0');
}
listening();
