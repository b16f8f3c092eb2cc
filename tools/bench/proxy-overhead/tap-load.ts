// A tap client for the bench's --tap windows, run inside a proxy's namespace: Tap/Observe on the proxy's control
// port matching every request, with a limit no window reaches, reading events as fast as they come (as the tap
// controller does). Meshed (TAP_TLS_DIR set), it presents the tap controller's identity over mTLS and checks
// the proxy's (TAP_SERVER_ID); plaintext, the proxy serves loopback clients without TLS. Prints "tap open" once
// the proxy has answered the Observe, and on SIGTERM one JSON line with the events it read and how the stream
// ended, then exits.
//
//   TAP_ADDR=127.0.0.1:4190 [TAP_TLS_DIR=<crt.pem key.pem ca.pem> TAP_SERVER_ID=<proxy identity>] node tap-load.ts
import * as grpc from '@grpc/grpc-js';
import { TapClient, type tap } from '@trellis/proto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const addr = process.env['TAP_ADDR'] ?? '127.0.0.1:4190';
const tlsDir = process.env['TAP_TLS_DIR'];
const serverId = process.env['TAP_SERVER_ID'] ?? '';
if (tlsDir && !serverId) throw new Error('TAP_SERVER_ID is required with TAP_TLS_DIR');

const client = tlsDir
  ? new TapClient(
      addr,
      grpc.credentials.createSsl(readFileSync(join(tlsDir, 'ca.pem')), readFileSync(join(tlsDir, 'key.pem')), readFileSync(join(tlsDir, 'crt.pem')), {
        checkServerIdentity: (_host, cert) => (cert.subjectaltname?.includes(serverId) ? undefined : new Error(`not ${serverId}: ${cert.subjectaltname}`)),
      }),
      { 'grpc.ssl_target_name_override': serverId, 'grpc.default_authority': serverId },
    )
  : new TapClient(addr, grpc.credentials.createInsecure());

const kinds: Record<string, number> = {};
let events = 0;
let ended: { code: number; details: string } | undefined;
// Every request (an empty `all` matches everything), far more than a window sends.
const call = client.observe({ limit: 1_000_000_000, match: { match: { $case: 'all', value: { matches: [] } } }, extract: undefined });
call.on('metadata', () => process.stdout.write('tap open\n'));
call.on('data', (e: tap.TapEvent) => {
  events++;
  const k = e.event?.value.event?.$case ?? '?';
  kinds[k] = (kinds[k] ?? 0) + 1;
});
call.on('error', (err: grpc.ServiceError) => {
  ended = { code: err.code, details: err.details };
  if (err.code !== grpc.status.CANCELLED) process.stderr.write(`tap ended: ${err.code} ${err.details}\n`);
});
call.on('end', () => (ended ??= { code: 0, details: '' }));

process.on('SIGTERM', () => {
  // Still open at the window's end is what a window wants: the tap saw every request in it.
  process.stdout.write(`${JSON.stringify({ events, kinds, endedEarly: ended && ended.code !== grpc.status.CANCELLED ? ended : null })}\n`);
  call.cancel();
  client.close();
  process.exit(0);
});
