// The endpoint client as the routers see it: the connections of a picked endpoint (its pooled HTTP/1 agent, its
// HTTP/2 session), whatever chose the endpoint. The profile path and policy routes both send through it; it knows
// nothing of routes, so routes depend on it and not the other way round.
import type { Agent } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import type { MeshEndpoint } from '../discovery/outbound.ts';
import type { PickedEndpoint } from '../http/exchange.ts';
import type { EndpointMetrics } from '../metrics/proxy-metrics.ts';

/** One request's endpoint: report the first response byte and the end exactly once. */
export interface MeshPick {
  readonly me: MeshEndpoint;
  firstByte(): void;
  done(success: boolean): void;
}

/** The request an endpoint is picked for (http/exchange.ts Exchange): counted in the endpoint's series. */
export interface PickObserver {
  atEndpoint(m: EndpointMetrics, endpoint?: PickedEndpoint): void;
}

export interface EndpointClient {
  /** A keep-alive HTTP/1 agent for the endpoint (mTLS to its identity when it has one). */
  agent(me: MeshEndpoint): Agent;
  /** The endpoint's HTTP/2 session: its pooled one, else one kept by the client. */
  h2Session(me: MeshEndpoint): Promise<ClientHttp2Session>;
  /** The request reached `me`: it is counted in that endpoint's series. */
  observe(request: PickObserver, me: MeshEndpoint): void;
}
