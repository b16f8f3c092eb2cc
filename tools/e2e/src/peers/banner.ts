// A server-speaks-first TCP service (like MySQL or SMTP): it writes a banner before reading anything, then echoes.
// A proxy that waits for the client's first bytes to detect the protocol deadlocks on it unless the port is opaque.
import { connect, createServer, type Server } from 'node:net';

export const bannerFor = (name: string) => `220 ${name} ready\n`;

export function bannerServer(name: string): Server {
  return createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.write(bannerFor(name));
    socket.pipe(socket);
  });
}

/** Connects, reads the banner, sends text and reads it back; resolves with both, or rejects after timeoutMs. */
export function talkToBanner(host: string, port: number, text: string, timeoutMs = 5000): Promise<{ banner: string; echo: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let got = '';
    let banner: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no ${banner === undefined ? 'banner' : 'echo'} from ${host}:${port} within ${timeoutMs} ms (got ${JSON.stringify(got)})`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (d: string) => {
      got += d;
      if (banner === undefined && got.includes('\n')) {
        banner = got.slice(0, got.indexOf('\n') + 1);
        got = got.slice(banner.length);
        socket.write(text);
      }
      if (banner !== undefined && got.length >= text.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ banner, echo: got });
      }
    });
  });
}
