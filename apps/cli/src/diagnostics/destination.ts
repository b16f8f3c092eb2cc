// Asking destination what it tells a proxy, over the proxy's own gRPC APIs: Destination.Get (endpoints),
// Destination.GetProfile, OutboundPolicies.Get and InboundServerPolicies.GetPort. Destination is reached through a
// port-forward to one of its pods, as Linkerd's diagnostics do, or at an address given on the command line.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { TrellisError } from '@trellis/config';
import { DestinationClient, InboundServerPoliciesClient, OutboundPoliciesClient, type destination, type inbound, type outbound } from '@trellis/proto';
import { forwardPort } from '../cluster/port-forward.ts';

export class DestinationUnavailableError extends TrellisError {
  constructor(message: string) {
    super('TRELLIS_ERR_DESTINATION', message);
  }
}

/** The two gRPC ports of the destination pod, by the chart's port names. */
export const DESTINATION_PORTS = { destination: { name: 'dest-grpc', port: 8086 }, policy: { name: 'policy-grpc', port: 8090 } } as const;
export type DestinationApi = keyof typeof DESTINATION_PORTS;

export interface Connection {
  readonly address: string;
  /** What the address is, for messages: `pod trellis/trellis-destination-abc port 8086 (port-forward)`. */
  readonly via: string;
  /** Why the port-forward failed, when it did. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/** A Running destination pod of the control plane, forwarded to; or `direct` as given. */
export async function connectDestination(kc: KubeConfig, controlPlaneNs: string, api: DestinationApi, direct: string | undefined): Promise<Connection> {
  if (direct) return { address: direct, via: direct, lastError: () => undefined, close: async () => undefined };
  const pods = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: controlPlaneNs, labelSelector: 'linkerd.io/control-plane-component=destination' })).items;
  const pod = pods.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  if (!pod) throw new DestinationUnavailableError(`no running destination pod in namespace ${controlPlaneNs} (is Trellis installed? see trellis check)`);
  const want = DESTINATION_PORTS[api];
  const port = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === want.name)?.containerPort ?? want.port;
  const name = pod.metadata?.name ?? '';
  const fwd = await forwardPort(kc, controlPlaneNs, name, port);
  return { address: fwd.address, via: `pod ${controlPlaneNs}/${name} port ${port} (port-forward)`, lastError: fwd.lastError, close: fwd.close };
}

const TIMEOUT_MS = 10_000;

/** Destination answered nothing in the wait, on a stream it accepted. */
class SilentError extends DestinationUnavailableError {}

function failure(c: Connection, what: string, err: ServiceError | Error): DestinationUnavailableError {
  const code = (err as ServiceError).code;
  // UNAVAILABLE: nothing answered; say what we tried (and why the port-forward broke).
  if (code === 14) return new DestinationUnavailableError(`${what}: destination at ${c.via} is unavailable: ${c.lastError() ?? (err as ServiceError).details ?? err.message}`);
  return new DestinationUnavailableError(`${what}: ${(err as ServiceError).details || err.message}`);
}

/** The first answer of a server stream (its first message), cancelling the stream after it. */
function first<T>(start: () => { on(e: 'data', f: (m: T) => void): unknown; on(e: 'error', f: (e: ServiceError) => void): unknown; on(e: 'end', f: () => void): unknown; cancel(): void }, accept: (m: T) => boolean, what: string, c: Connection): Promise<T> {
  return new Promise((resolve, reject) => {
    const stream = start();
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.cancel();
      f();
    };
    const timer = setTimeout(() => finish(() => reject(new SilentError(`${what}: no answer from destination at ${c.via} within ${TIMEOUT_MS / 1000} s${c.lastError() ? `: ${c.lastError()}` : ''}`))), TIMEOUT_MS);
    stream.on('data', (m: T) => {
      if (accept(m)) finish(() => resolve(m));
    });
    stream.on('error', (e: ServiceError) => finish(() => reject(failure(c, what, e))));
    stream.on('end', () => finish(() => reject(new DestinationUnavailableError(`${what}: destination ended the stream without an answer`))));
  });
}

/**
 * Destination.Get's first Add or NoEndpoints for an authority (`web-svc.emojivoto.svc.cluster.local:80`); undefined
 * when a reachable destination sends nothing in the wait (it holds the stream open for a Service with no endpoints).
 */
export async function getEndpoints(c: Connection, authority: string, contextToken: string): Promise<destination.Update | undefined> {
  const client = new DestinationClient(c.address, credentials.createInsecure());
  try {
    return await first<destination.Update>(() => client.get({ scheme: '', path: authority, contextToken }), (u) => u.update?.$case === 'add' || u.update?.$case === 'noEndpoints', `endpoints of ${authority}`, c).catch((err: unknown) => {
      if (err instanceof SilentError && !c.lastError()) return undefined;
      throw err;
    });
  } finally {
    client.close();
  }
}

/** Destination.GetProfile's first answer for an authority or an IP:port. */
export async function getProfile(c: Connection, target: string, contextToken: string): Promise<destination.DestinationProfile> {
  const client = new DestinationClient(c.address, credentials.createInsecure());
  try {
    return await first<destination.DestinationProfile>(() => client.getProfile({ scheme: '', path: target, contextToken }), () => true, `profile of ${target}`, c);
  } finally {
    client.close();
  }
}

function unary<Req, Res>(call: (req: Req, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown, req: Req, what: string, c: Connection): Promise<Res> {
  return new Promise((resolve, reject) => {
    call(req, { deadline: new Date(Date.now() + TIMEOUT_MS) }, (e, r) => (e ? reject(e.code === 4 ? new DestinationUnavailableError(`${what}: no answer from destination at ${c.via} within ${TIMEOUT_MS / 1000} s${c.lastError() ? `: ${c.lastError()}` : ''}`) : failure(c, what, e)) : resolve(r)));
  });
}

/** OutboundPolicies.Get: the policy a client in `sourceNs` gets for an authority. */
export async function getOutboundPolicy(c: Connection, spec: outbound.TrafficSpec, what: string): Promise<outbound.OutboundPolicy> {
  const client = new OutboundPoliciesClient(c.address, credentials.createInsecure());
  try {
    return await unary<outbound.TrafficSpec, outbound.OutboundPolicy>((r, o, cb) => client.get(r, new Metadata(), o, cb), spec, what, c);
  } finally {
    client.close();
  }
}

/** InboundServerPolicies.GetPort: the policy a pod's proxy gets for one of its ports. */
export async function getInboundPolicy(c: Connection, spec: inbound.PortSpec, what: string): Promise<inbound.Server> {
  const client = new InboundServerPoliciesClient(c.address, credentials.createInsecure());
  try {
    return await unary<inbound.PortSpec, inbound.Server>((r, o, cb) => client.getPort(r, new Metadata(), o, cb), spec, what, c);
  } finally {
    client.close();
  }
}
