// Protocol detection (docs/reference/linkerd-proxy.md §2): exactly one read of at most 1 KiB within the detect timeout.
// HTTP/2 preface -> h2, a request line that parses (complete or partial) -> HTTP/1, anything else -> opaque.
// The bytes read are put back on the socket for the chosen stack.
import type { Socket } from 'node:net';

export type Protocol = 'http1' | 'http2' | 'opaque';
export type Detection = Protocol | 'timeout' | 'closed';

export const DETECT_READ_LIMIT = 1024;
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0');
const MIN_BYTES = 14;

// RFC 9110 tchar, for the method token.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
const VERSION = 'HTTP/1.';

/** Classifies the first bytes of a connection. */
export function classify(buf: Buffer): Protocol {
  const n = Math.min(buf.length, DETECT_READ_LIMIT);
  if (n < MIN_BYTES) return 'opaque';
  if (buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) return 'http2';
  return isRequestLinePrefix(buf, n) ? 'http1' : 'opaque';
}

/** True when buf[0..n) is a valid HTTP/1 request line, or a valid start of one that the read cut short. */
function isRequestLinePrefix(buf: Buffer, n: number): boolean {
  let i = 0;
  while (i < n && TCHAR[buf[i] as number]) i++;
  if (i === 0) return false;
  if (i === n) return true;
  if (buf[i] !== 0x20) return false;
  const targetStart = ++i;
  while (i < n && (buf[i] as number) > 0x20 && buf[i] !== 0x7f) i++;
  if (i === n) return true;
  if (i === targetStart || buf[i] !== 0x20) return false;
  i++;
  for (let v = 0; v < VERSION.length; v++, i++) {
    if (i === n) return true;
    if (buf[i] !== VERSION.charCodeAt(v)) return false;
  }
  if (i === n) return true;
  const d = buf[i] as number;
  if (d < 0x30 || d > 0x39) return false;
  i++;
  if (i === n) return true;
  if (buf[i] === 0x0a) return true;
  if (buf[i] !== 0x0d) return false;
  return i + 1 === n || buf[i + 1] === 0x0a;
}

/**
 * Waits for the connection's first chunk (or EOF, or the timeout) and classifies it. The chunk is unshifted
 * back so the next reader sees the connection from its first byte; the socket is left paused.
 */
export function detect(socket: Socket, timeoutMs: number): Promise<Detection> {
  return new Promise((resolve) => {
    const done = (result: Detection) => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      done(classify(chunk));
    };
    const onEnd = () => done('closed');
    const timer = setTimeout(() => {
      socket.pause();
      done('timeout');
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    // A socket paused before us (parked until the first certificate, or read by TLS detection) must flow again.
    socket.resume();
  });
}
