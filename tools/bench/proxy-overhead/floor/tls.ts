// Floor of the meshed path: the llhttp relay (relay.ts) with TLS 1.3 between the two pods, mutually
// authenticated with certificates from the same issuer as the meshed proxies' (FLOOR_TLS_DIR: crt.pem with the
// issuer chain, key.pem, ca.pem). The client side (4140) takes plaintext and opens one TLS connection per
// client connection to its target, naming the server's identity (FLOOR_SERVER_NAME) as SNI and checking it; the
// server side (4143) requires a client certificate and relays to its target in plaintext. HTTP/1 between the
// pods, no HTTP/2, no discovery, no policy: what TLS and the parser alone cost per request.
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, createServer as tcpServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import { listening, targets } from './common.ts';
import { relay } from './relay.ts';

const dir = process.env['FLOOR_TLS_DIR'] ?? '';
const serverName = process.env['FLOOR_SERVER_NAME'] ?? '';
if (!dir || !serverName) throw new Error('FLOOR_TLS_DIR and FLOOR_SERVER_NAME are required');
const creds = { cert: readFileSync(join(dir, 'crt.pem')), key: readFileSync(join(dir, 'key.pem')), ca: readFileSync(join(dir, 'ca.pem')), minVersion: 'TLSv1.3' as const };

const [[outPort, outHost, outTargetPort], [inPort, inHost, inTargetPort]] = targets() as [[number, string, number], [number, string, number]];
tcpServer({ noDelay: true }, (c) => {
  const up = tlsConnect({ ...creds, host: outHost, port: outTargetPort, servername: serverName });
  up.setNoDelay(true);
  relay(c, up);
}).listen(outPort, '0.0.0.0');
tlsServer({ ...creds, requestCert: true, rejectUnauthorized: true }, (c) => {
  c.setNoDelay(true);
  relay(c, tcpConnect({ host: inHost, port: inTargetPort, noDelay: true }));
}).listen(inPort, '0.0.0.0');
listening();
