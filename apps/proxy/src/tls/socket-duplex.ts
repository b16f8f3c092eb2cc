// node:tls, given a net.Socket, adopts its file handle and reads the kernel directly, so bytes that detection
// read and unshifted would be lost. Wrapping the socket in a plain Duplex makes TLS read through the stream
// (unshifted bytes first). It costs one JS hop per chunk on terminated connections.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export class SocketDuplex extends Duplex {
  readonly socket: Socket;
  constructor(socket: Socket) {
    super({ allowHalfOpen: true });
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }
}
