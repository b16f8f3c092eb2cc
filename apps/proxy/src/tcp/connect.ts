// Opens the proxy's connection to a target: TCP_NODELAY, half-close allowed, a connect timeout, and counted
// under the target's peer="dst" series.
import { connect, type Socket } from 'node:net';
import { ConnectTimeoutError } from '../errors.ts';
import type { TargetEntry } from './targets.ts';

export function connectTo(entry: TargetEntry, timeoutMs: number): Socket {
  const t = entry.target;
  const socket = connect({ host: t.ip, port: t.port, allowHalfOpen: true, noDelay: true });
  entry.dstTcp.track(socket);
  if (timeoutMs > 0) {
    const timer = setTimeout(() => socket.destroy(new ConnectTimeoutError(t.addr, timeoutMs)), timeoutMs);
    const clear = () => clearTimeout(timer);
    socket.once('connect', clear);
    socket.once('close', clear);
  }
  return socket;
}
