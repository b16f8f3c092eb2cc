// A local TCP port that reaches one port of a pod through the API server's port-forward (WebSocket), as
// `kubectl port-forward` does: each local connection gets its own forwarding stream. Needs a kubelet behind the
// API server; the error says so when the cluster has none.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';

export interface Forwarded {
  /** `127.0.0.1:<port>` to connect to. */
  readonly address: string;
  readonly port: number;
  /** Why the last forwarding stream could not be opened (the local connection only sees a reset). */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/** `localPort` 0 takes any free port. */
export async function forwardPort(kc: KubeConfig, namespace: string, pod: string, port: number, localPort = 0): Promise<Forwarded> {
  const pf = new PortForward(kc, true);
  const sockets = new Set<Socket>();
  let lastError: string | undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const input = new PassThrough();
    socket.pipe(input);
    pf.portForward(namespace, pod, [port], socket, null, input).then(
      (ws) => {
        const closeWs = () => (ws as { close?: () => void }).close?.();
        socket.on('close', closeWs);
        (ws as { on?: (e: string, f: () => void) => void }).on?.('close', () => socket.end());
      },
      (err: unknown) => {
        lastError = `port-forward to ${namespace}/${pod}:${port} failed: ${explain(describe(err), namespace)}`;
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(localPort, '127.0.0.1', () => resolve());
  });
  const local = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${local}`,
    port: local,
    lastError: () => lastError,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The client library rejects with an Error, or with the WebSocket's error event (a message, or an HTTP status). */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const e = err as { message?: string; error?: { message?: string }; target?: { url?: string } } | undefined;
  return e?.message ?? e?.error?.message ?? String(err);
}

/** The WebSocket library reports only the status of a refused upgrade; say what the API server means by it. */
export function explain(message: string, namespace: string): string {
  const status = /Unexpected server response: (\d+)/.exec(message)?.[1];
  if (status === '403') return `the API server answered 403: this user may not create pods/portforward in namespace ${namespace}`;
  if (status) return `the API server answered ${status} to the port-forward (the pod is on no node, or its node's kubelet cannot forward)`;
  return message;
}
