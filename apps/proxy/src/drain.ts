// Graceful shutdown (docs/reference/linkerd-proxy.md §9): stop accepting, let in-flight HTTP/1 requests finish (then close
// their connections), GOAWAY HTTP/2, keep TCP forwards until they close, and give up after the grace period.
import type { Server as HttpServer } from 'node:http';
import type { Server, Socket } from 'node:net';

export interface Drainable {
  /** Stops what can be stopped at once (idle keep-alive connections, GOAWAY). */
  drain(): void;
}

export class Drain {
  private draining = false;
  private readonly sockets = new Set<Socket>();
  private readonly listeners: Server[] = [];
  private readonly parts: Drainable[] = [];
  private idle: (() => void) | undefined;

  get isDraining(): boolean {
    return this.draining;
  }

  addListener(server: Server): void {
    this.listeners.push(server);
  }

  add(part: Drainable): void {
    this.parts.push(part);
  }

  /** Every accepted connection; the drain ends when the last one closes. */
  track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.draining && this.sockets.size === 0) this.idle?.();
    });
  }

  openConnections(): number {
    return this.sockets.size;
  }

  /** Resolves true when every connection closed, false when the grace period ran out first. */
  start(graceMs: number): Promise<boolean> {
    if (!this.draining) {
      this.draining = true;
      for (const l of this.listeners) l.close();
      for (const p of this.parts) p.drain();
    }
    if (this.sockets.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), graceMs);
      timer.unref();
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

/** An HTTP/1 server's part of the drain: close idle keep-alive connections now; busy ones close after their response. */
export function drainHttp1(server: HttpServer): Drainable {
  return { drain: () => server.closeIdleConnections() };
}
