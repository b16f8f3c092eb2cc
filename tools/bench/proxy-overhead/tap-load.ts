// A tap client for the bench's --tap windows, run inside a proxy's namespace: Tap/Observe on the proxy's tap port
// matching every request, with a limit no window reaches, reading events as fast as they come. It shares the
// machine's two cores with the proxies it measures, so it reads as cheaply as a client can: node:http2 with one
// request, gRPC messages counted by their length prefixes and never decoded (a tap controller decoding them runs
// elsewhere in a cluster). Meshed (TAP_TLS_DIR set), it presents the tap controller's identity over mTLS and checks
// the proxy's (TAP_SERVER_ID); plaintext, the proxy serves loopback clients without TLS. Prints "tap open" once the
// proxy has answered the Observe, and on SIGTERM one JSON line with the events it read, its own CPU time and how
// the stream ended, then exits.
//
//   TAP_ADDR=127.0.0.1:4190 [TAP_TLS_DIR=<crt.pem key.pem ca.pem> TAP_SERVER_ID=<proxy identity>] node tap-load.ts
import { tap } from '@trellis/proto';
import { readFileSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';

const addr = process.env['TAP_ADDR'] ?? '127.0.0.1:4190';
const tlsDir = process.env['TAP_TLS_DIR'];
const serverId = process.env['TAP_SERVER_ID'] ?? '';
if (tlsDir && !serverId) throw new Error('TAP_SERVER_ID is required with TAP_TLS_DIR');

const session: ClientHttp2Session = tlsDir
  ? connect(`https://${addr}`, {
      ca: readFileSync(join(tlsDir, 'ca.pem')),
      key: readFileSync(join(tlsDir, 'key.pem')),
      cert: readFileSync(join(tlsDir, 'crt.pem')),
      servername: serverId,
      ALPNProtocols: ['h2'],
      checkServerIdentity: (_host, cert) => (cert.subjectaltname?.includes(serverId) ? undefined : new Error(`not ${serverId}: ${cert.subjectaltname}`)),
    })
  : connect(`http://${addr}`);
session.on('error', (err) => process.stderr.write(`tap session: ${err.message}\n`));

// Every request (an empty `all` matches everything), far more than a window sends.
const body = tap.ObserveRequest.encode({ limit: 1_000_000_000, match: { match: { $case: 'all', value: { matches: [] } } }, extract: undefined }).finish();
const frame = Buffer.alloc(5 + body.length);
frame.writeUInt32BE(body.length, 1);
frame.set(body, 5);

const stream = session.request({
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: '/io.linkerd.proxy.tap.Tap/Observe',
  [constants.HTTP2_HEADER_AUTHORITY]: serverId || addr,
  'content-type': 'application/grpc',
  te: 'trailers',
});
stream.end(frame);

let events = 0;
let ended: { code: number; details: string } | undefined;
stream.on('response', (headers) => {
  if (headers[':status'] === 200 && headers['grpc-status'] === undefined) process.stdout.write('tap open\n');
  else ended = { code: Number(headers['grpc-status'] ?? -1), details: String(headers['grpc-message'] ?? `HTTP ${headers[':status']}`) };
});
// The bytes still owed to the message being read, then a new 5-byte prefix; a prefix split across chunks is kept.
let owed = 0;
let prefix = Buffer.alloc(0);
stream.on('data', (chunk: Buffer) => {
  let at = 0;
  while (at < chunk.length) {
    if (owed > 0) {
      const take = Math.min(owed, chunk.length - at);
      owed -= take;
      at += take;
      continue;
    }
    const need = 5 - prefix.length;
    prefix = Buffer.concat([prefix, chunk.subarray(at, at + need)]);
    at += need;
    if (prefix.length < 5) break;
    owed = prefix.readUInt32BE(1);
    prefix = Buffer.alloc(0);
    events++;
  }
});
stream.on('trailers', (t) => (ended ??= { code: Number(t['grpc-status'] ?? 0), details: String(t['grpc-message'] ?? '') }));
stream.on('error', (err) => (ended ??= { code: -1, details: err.message }));
stream.on('close', () => {
  if (ended && ended.code !== 0) process.stderr.write(`tap ended: ${ended.code} ${ended.details}\n`);
});

process.on('SIGTERM', () => {
  // Still open at the window's end is what a window wants: the tap saw every request in it.
  const cpu = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ events, cpuMs: Math.round((cpu.user + cpu.system) / 1000), endedEarly: ended ?? null })}\n`);
  stream.close(constants.NGHTTP2_CANCEL);
  session.close();
  process.exit(0);
});
