// Opaque TCP: bytes spliced both ways with half-close (a FIN from one side ends the other side's writes but
// keeps reading), and a reset on either side tearing both down.
import type { Socket } from 'node:net';

export function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  link(a, b);
  link(b, a);
}

function link(from: Socket, to: Socket): void {
  from.on('error', () => to.destroy());
  from.once('close', (hadError: boolean) => {
    if (hadError) to.destroy();
    else if (!to.writableEnded) to.end();
  });
}

/** Forwards an accepted connection to a freshly opened one once it connects; a failed connect closes it. */
export function forwardOpaque(client: Socket, upstream: Socket, onError: (err: Error) => void): void {
  const failed = (err: Error) => {
    onError(err);
    // A reset tells the client the target was unreachable, as a refused direct connection would.
    client.resetAndDestroy();
  };
  upstream.once('error', failed);
  upstream.once('connect', () => {
    upstream.removeListener('error', failed);
    splice(client, upstream);
    client.resume();
  });
}
