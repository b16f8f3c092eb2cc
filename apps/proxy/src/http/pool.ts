// HTTP/1 connection pools: keep-alive per endpoint with Linkerd's idle timeout and idle-connection cap.
// Connections are opened by connectTo (connect timeout, peer="dst" metrics); the target rides in the request
// options, which Node hands to createConnection.
import { Agent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import type { Socket } from 'node:net';
import { connectTo } from '../tcp/connect.ts';
import type { TargetEntry } from '../tcp/targets.ts';

export interface PoolRequestArgs extends ClientRequestArgs {
  readonly trellisTarget: TargetEntry;
}

export class EndpointAgent extends Agent {
  private readonly connectTimeoutMs: number;
  constructor(options: AgentOptions, connectTimeoutMs: number) {
    super(options);
    this.connectTimeoutMs = connectTimeoutMs;
  }
  // Node's typings declare createConnection as a property; overriding it as a method is what Node calls.
  override createConnection = (options: ClientRequestArgs): Socket => connectTo((options as PoolRequestArgs).trellisTarget, this.connectTimeoutMs);
}

export interface Pools {
  /** Keep-alive pool for HTTP/1.1 requests with a Host. */
  readonly keepAlive: EndpointAgent;
  /** Throwaway connections: HTTP/1.0, no Host, Upgrade and CONNECT. */
  readonly oneShot: EndpointAgent;
}

export function createPools(o: { idleTimeoutMs: number; maxIdle: number; connectTimeoutMs: number }): Pools {
  return {
    keepAlive: new EndpointAgent({ keepAlive: true, timeout: o.idleTimeoutMs, maxFreeSockets: Math.max(1, o.maxIdle), scheduling: 'lifo' }, o.connectTimeoutMs),
    oneShot: new EndpointAgent({ keepAlive: false }, o.connectTimeoutMs),
  };
}
