// A strict HTTP/1.1 server that answers with the request head it received, byte for byte: the end-to-end tests
// assert what a proxy delivered to the app (exactly one Host line) without trusting any HTTP parser's repairs.
// GET and HEAD only, keep-alive; a request with zero or several Host lines gets 400, as strict servers answer.
import { createServer, type Server, type Socket } from 'node:net';

const HEAD_END = '\r\n\r\n';
const MAX_HEAD = 64 * 1024;

/** The Host lines of a raw request head (the request line excluded). */
export function hostLines(head: string): string[] {
  return head.split('\r\n').slice(1).filter((l) => /^host\s*:/i.test(l));
}

/** The response to one raw request head. */
export function answer(head: string): string {
  const hosts = hostLines(head).length;
  const [status, body] = hosts === 1 ? ['200 OK', head] : ['400 Bad Request', `expected one Host line, got ${hosts}\n`];
  return `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function serve(socket: Socket): void {
  let buffered = '';
  socket.setEncoding('latin1');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf(HEAD_END); end >= 0; end = buffered.indexOf(HEAD_END)) {
      const head = buffered.slice(0, end + HEAD_END.length);
      buffered = buffered.slice(head.length);
      if (!/^(GET|HEAD) /.test(head)) {
        socket.end('HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      socket.write(answer(head), 'latin1');
    }
    if (buffered.length > MAX_HEAD) socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });
}

export function rawHttpServer(): Server {
  return createServer(serve);
}
