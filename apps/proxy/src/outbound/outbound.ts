// The outbound side (127.0.0.1:4140): everything the app sends out. In Proxy I there is no discovery, so
// every connection goes to its original destination, plaintext.
import type { Socket } from 'node:net';
import type { ProxyConfig } from '../config.ts';
import { buildDirection, type Direction as Stack, type SharedParts } from '../stack.ts';
import { composeConn, originalDst, route, type Destination } from '../tcp/accept.ts';

export function createOutbound(cfg: ProxyConfig, shared: SharedParts, resolve: (s: Socket) => Destination): Stack {
  const stack = buildDirection('outbound', cfg.outbound, cfg, shared);
  const deps = { direction: 'outbound' as const, metrics: shared.metrics, onRefused: shared.onRefused };
  return { ...stack, accept: composeConn(originalDst(resolve, deps))(route(stack.routeDeps)) };
}
