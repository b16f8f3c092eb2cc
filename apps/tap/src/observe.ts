// One tap request fanned out to the proxies of its pods: Observe on each pod's control port, the streams merged
// into one, each event completed with the pods on both sides, at most max_rps requests a second overall and at
// most `limit` requests in all. The pod's own proxy carries the connection over mTLS as the tap identity, as in
// Linkerd; a proxy that cannot be reached or refuses ends only its own stream. `onOpen` tells when the first proxy
// has answered (its response headers), so the caller can still fail the whole request while none has.
import * as grpc from '@grpc/grpc-js';
import { ipAddressToString, TapClient, type tap } from '@trellis/proto';
import type { MeshedPod } from './pods.ts';
import { RateLimit } from './rate.ts';

export interface ObserveOptions {
  readonly pods: readonly MeshedPod[];
  readonly tapPort: number;
  readonly match: tap.ObserveRequest_Match;
  readonly extractHeaders: boolean;
  readonly maxRps: number;
  /** Total requests to show; 0: until the client goes away. */
  readonly limit: number;
  readonly peerByIp: (ip: string) => Promise<Readonly<Record<string, string>> | undefined>;
  readonly onEvent: (e: tap.TapEvent) => void;
  /** Once, when the first proxy answers the Observe call. */
  readonly onOpen: () => void;
  readonly onPodError: (pod: MeshedPod, err: grpc.ServiceError) => void;
  readonly onEnd: () => void;
}

/** Starts the taps; the returned function cancels them all. */
export function observePods(o: ObserveOptions): () => void {
  const rate = new RateLimit(o.maxRps);
  const taken = new Set<string>();
  let shown = 0;
  let isOpen = false;
  const opened = () => {
    if (isOpen) return;
    isOpen = true;
    o.onOpen();
  };
  let open = o.pods.length;
  const calls: grpc.ClientReadableStream<tap.TapEvent>[] = [];
  const clients: InstanceType<typeof TapClient>[] = [];
  const done = () => {
    if (--open === 0) {
      for (const c of clients) c.close();
      o.onEnd();
    }
  };
  const stopAll = () => {
    for (const c of calls) c.cancel();
  };
  // Each proxy counts against the whole request's limit (or a generous one), the rate limit does the rest.
  const perProxyLimit = o.limit > 0 ? o.limit : 0xffff_ffff;
  const request: tap.ObserveRequest = {
    limit: perProxyLimit,
    match: o.match,
    extract: o.extractHeaders ? { extract: { $case: 'http', value: { extract: { $case: 'headers', value: {} } } } } : undefined,
  };
  for (const pod of o.pods) {
    const host = pod.ip.includes(':') ? `[${pod.ip}]` : pod.ip;
    const client = new TapClient(`${host}:${o.tapPort}`, grpc.credentials.createInsecure());
    clients.push(client);
    const call = client.observe(request);
    calls.push(call);
    call.once('metadata', opened);
    // Events of one pod are enriched in order: the peer lookups of an event finish before the next one's.
    let chain = Promise.resolve();
    call.on('data', (e: tap.TapEvent) => {
      const ev = e.event?.value.event;
      if (ev === undefined) return;
      const key = `${pod.name}|${ev.value.id?.base ?? 0}|${ev.value.id?.stream ?? 0n}`;
      if (ev.$case === 'requestInit') {
        if ((o.limit > 0 && shown >= o.limit) || !rate.take()) return;
        shown++;
        taken.add(key);
      } else if (!taken.has(key)) {
        return;
      } else if (ev.$case === 'responseEnd') {
        taken.delete(key);
      }
      chain = chain.then(async () => {
        o.onEvent(await enrich(e, pod, o.peerByIp));
        if (o.limit > 0 && shown >= o.limit && taken.size === 0) stopAll();
      });
    });
    // grpc-js may emit both 'error' and 'end' for one call: it counts as ended once, or a failed pod would end the
    // streams of the others with it.
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      void chain.then(done);
    };
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) o.onPodError(pod, err);
      finish();
    });
    call.on('end', finish);
  }
  return stopAll;
}

async function enrich(e: tap.TapEvent, pod: MeshedPod, peerByIp: ObserveOptions['peerByIp']): Promise<tap.TapEvent> {
  const inbound = e.proxyDirection === 1;
  const peerAddr = inbound ? e.source : e.destination;
  const peer = peerAddr?.ip ? await peerByIp(ipAddressToString(peerAddr.ip)) : undefined;
  const own = { labels: { ...pod.labels, ...(inbound ? e.destinationMeta?.labels : e.sourceMeta?.labels) } };
  const other = { labels: { ...(peer ?? {}), ...(inbound ? e.sourceMeta?.labels : e.destinationMeta?.labels) } };
  return inbound ? { ...e, destinationMeta: own, sourceMeta: other } : { ...e, sourceMeta: own, destinationMeta: other };
}
