// HTTP/1 connection pools: keep-alive per endpoint with Linkerd's idle timeout and idle-connection cap.
// Connections are opened by connectTo (connect timeout, peer="dst" metrics); the target rides in the request
// options, which Node hands to createConnection.
import type { AgentOptions, ClientRequestArgs } from 'node:http';
import { Agent } from './node-http.ts';
import type { Socket } from 'node:net';
import { connectTo } from '../tcp/connect.ts';
import { H1Pool } from './h1-lean-client.ts';
import type { TargetEntry } from '../tcp/targets.ts';

export interface PoolRequestArgs extends ClientRequestArgs {
  readonly trellisTarget: TargetEntry;
}

const kIdleSince = Symbol('trellis.idleSince');
interface Idle {
  [kIdleSince]?: number;
}

export class EndpointAgent extends Agent {
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly sweeper: NodeJS.Timeout | undefined;

  /**
   * Idle pooled connections are closed by a sweep once a second rather than by Node's per-socket timeout, which
   * re-arms a timer on every request (measurably dearer on the hot path); the close comes within a second of
   * the idle timeout.
   */
  constructor(options: AgentOptions, connectTimeoutMs: number, idleTimeoutMs = 0) {
    super(options);
    this.connectTimeoutMs = connectTimeoutMs;
    this.idleTimeoutMs = idleTimeoutMs;
    if (idleTimeoutMs > 0) {
      this.on('free', (socket: Socket) => {
        (socket as Idle)[kIdleSince] = Date.now();
      });
      this.sweeper = setInterval(() => this.closeIdle(Date.now()), Math.min(1000, idleTimeoutMs));
      this.sweeper.unref();
    }
  }

  /** Closes pooled connections idle for the idle timeout or longer. */
  closeIdle(now: number): void {
    for (const list of Object.values(this.freeSockets)) {
      for (const s of list ?? []) {
        const since = (s as Idle)[kIdleSince];
        if (since !== undefined && now - since >= this.idleTimeoutMs) s.destroy();
      }
    }
  }

  override destroy(): void {
    clearInterval(this.sweeper);
    super.destroy();
  }
  // Node's typings declare createConnection as a property; overriding it as a method is what Node calls.
  override createConnection = (options: ClientRequestArgs): Socket => connectTo((options as PoolRequestArgs).trellisTarget, this.connectTimeoutMs);
}

export interface Pools {
  /** Keep-alive pool for HTTP/1.1 requests with a Host. */
  readonly keepAlive: EndpointAgent;
  /** Throwaway connections: HTTP/1.0, no Host, Upgrade and CONNECT. */
  readonly oneShot: EndpointAgent;
  /** Keep-alive pool of the lean client (http/h1-lean-client.ts), for the common request; same idle timeout and cap. */
  readonly lean: H1Pool;
}

export function createPools(o: { idleTimeoutMs: number; maxIdle: number; connectTimeoutMs: number }): Pools {
  return {
    keepAlive: new EndpointAgent({ keepAlive: true, maxFreeSockets: Math.max(1, o.maxIdle), scheduling: 'lifo' }, o.connectTimeoutMs, o.idleTimeoutMs),
    oneShot: new EndpointAgent({ keepAlive: false }, o.connectTimeoutMs),
    lean: new H1Pool({ connectTimeoutMs: o.connectTimeoutMs, idleTimeoutMs: o.idleTimeoutMs, maxIdle: o.maxIdle }),
  };
}
