// The outbound side (127.0.0.1:4140): everything the app sends out. In Proxy I there is no discovery, so
// every connection goes to its original destination, plaintext.
import type { Socket } from 'node:net';
import type { ProxyConfig } from '../config.ts';
import { buildDirection, type SharedParts } from '../stack.ts';
import { composeConn, originalDst, route, type ConnHandler, type Destination } from '../tcp/accept.ts';

/** The handler for connections accepted on the outbound listeners. */
export function createOutbound(cfg: ProxyConfig, shared: SharedParts, resolve: (s: Socket) => Destination): ConnHandler {
  const stack = buildDirection('outbound', cfg.outbound, cfg, shared);
  const deps = { direction: 'outbound' as const, metrics: shared.metrics, onRefused: shared.onRefused };
  return composeConn(originalDst(resolve, deps))(route(stack.routeDeps));
}
