// The floors' HTTP/1 relay on Node's own parser (llhttp, as _http_common's HTTPParser) without http.Server or
// ClientRequest: a client connection pinned to one upstream connection (plain TCP or TLS), heads rebuilt from
// the raw header arrays, writes corked per message. Content-Length bodies only: a measurement of what a fast
// path could cost, not a proxy.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  [k: number]: (...a: never[]) => unknown;
}
interface ParserClass {
  new (): Parser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}
const common = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserClass; methods: string[] };
const P = common.HTTPParser;

const body = (b: Buffer, start?: number, len?: number) => (start === undefined || len === undefined ? b : b.subarray(start, start + len));
function head(first: string, raw: string[]): string {
  let s = first + '\r\n';
  for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return s + '\r\n';
}

/** Relays HTTP/1 messages from `c` to `up` and the responses back, until either side closes. */
export function relay(c: Socket, up: Socket): void {
  const req = new P();
  req.initialize(P.REQUEST, {}, 65536, 0);
  // The return value of the head callback tells llhttp whether to skip the body: 0 = parse it.
  req[P.kOnHeadersComplete] = (major: number, minor: number, raw: string[], method: number, url: string) => {
    up.write(head(`${common.methods[method]} ${url} HTTP/${major}.${minor}`, raw));
    return 0;
  };
  req[P.kOnBody] = (b: Buffer, start?: number, len?: number) => up.write(body(b, start, len));
  req[P.kOnMessageComplete] = () => undefined;
  const res = new P();
  res.initialize(P.RESPONSE, {}, 65536, 0);
  res[P.kOnHeadersComplete] = (major: number, minor: number, raw: string[], _m: number, _u: string, status: number, message: string) => {
    c.cork();
    c.write(head(`HTTP/${major}.${minor} ${status} ${message}`, raw));
    return 0;
  };
  res[P.kOnBody] = (b: Buffer, start?: number, len?: number) => c.write(body(b, start, len));
  res[P.kOnMessageComplete] = () => process.nextTick(() => c.uncork());
  c.on('data', (d: Buffer) => {
    up.cork();
    req.execute(d);
    process.nextTick(() => up.uncork());
  });
  up.on('data', (d: Buffer) => res.execute(d));
  c.on('error', () => up.destroy());
  up.on('error', () => c.destroy());
  c.on('close', () => up.destroy());
  up.on('close', () => c.destroy());
}
