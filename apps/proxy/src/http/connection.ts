// What the accept path hands the HTTP servers with each connection it routes to them: the connection's target
// (its metric series and address) and, on the meshed outbound path, the upstream discovery resolved the original
// destination to, or, in ingress mode, the router that picks one per request. They ride on the socket because
// node:http and node:http2 are fed sockets, not contexts.
import type { IngressRouter } from '../outbound/ingress.ts';
import type { MeshUpstream } from '../outbound/mesh-upstream.ts';
import type { TargetEntry } from '../tcp/targets.ts';

export const kTarget = Symbol('trellis.target');
export const kUpstream = Symbol('trellis.upstream');
export const kIngress = Symbol('trellis.ingress');

export interface WithTarget {
  [kTarget]?: TargetEntry;
  [kUpstream]?: MeshUpstream;
  [kIngress]?: IngressRouter;
}

/** Marks `socket` as the connection to `entry`, sent to `upstream` when discovery resolved one. */
export function attachTarget(socket: object, entry: TargetEntry, upstream: MeshUpstream | undefined, ingress?: IngressRouter): void {
  const s = socket as WithTarget;
  s[kTarget] = entry;
  if (upstream) s[kUpstream] = upstream;
  if (ingress) s[kIngress] = ingress;
}

export function ingressOf(socket: unknown): IngressRouter | undefined {
  return (socket as WithTarget | undefined)?.[kIngress];
}

export function targetOf(socket: unknown): TargetEntry | undefined {
  return (socket as WithTarget | undefined)?.[kTarget];
}

export function upstreamOf(socket: unknown): MeshUpstream | undefined {
  return (socket as WithTarget | undefined)?.[kUpstream];
}
