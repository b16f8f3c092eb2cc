// What the accept path hands the HTTP servers with each connection it routes to them: the connection's target
// (its metric series and address) and, on the meshed outbound path, the router of its requests (the target
// discovery resolved the original destination to, or, in ingress mode, the router that picks one per request).
// They ride on the socket because node:http and node:http2 are fed sockets, not contexts.
import type { TargetEntry } from '../tcp/targets.ts';
import type { ConnRouter } from './exchange.ts';

export const kTarget = Symbol('trellis.target');
export const kRouter = Symbol('trellis.router');

export interface WithTarget {
  [kTarget]?: TargetEntry;
  [kRouter]?: ConnRouter;
}

/** Marks `socket` as the connection to `entry`, its requests routed by `router` when there is one. */
export function attachTarget(socket: object, entry: TargetEntry, router?: ConnRouter): void {
  const s = socket as WithTarget;
  s[kTarget] = entry;
  if (router) s[kRouter] = router;
}

export function targetOf(socket: unknown): TargetEntry | undefined {
  return (socket as WithTarget | undefined)?.[kTarget];
}

export function routerOf(socket: unknown): ConnRouter | undefined {
  return (socket as WithTarget | undefined)?.[kRouter];
}
