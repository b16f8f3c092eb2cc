// A gRPC client for a control-plane service, rebuilt when our certificate changes so new streams present the
// new one (mTLS verified as the service's `*_SVC_NAME`), or plaintext to a loopback address. Streams already
// open on an old client continue until they end; old clients are closed with the rest. Every call is counted
// in the control_* families when metrics are given.
//
// The service's name is a headless Service: when its pod is replaced, the old address may answer nothing at all.
// grpc-js alone then stays on it (docs/reference/control-plane-clients.md): its TCP connect has no timeout, its
// pick-first policy reconnects to the addresses it resolved last and resolves again only once every one of them
// has failed, a failed resolution is not retried until something asks the channel to connect, and a closed
// channel keeps its waiters until their deadline. So each client is also watched here (every 250 ms):
// - calls on an address that the name no longer gives (looked up every 3 s; Linkerd's control clients re-resolve
//   at the DNS TTL, 5 s for a Kubernetes Service) fail UNAVAILABLE and their client is closed, so every watch on
//   it subscribes again on a new client, which resolves the name afresh;
// - while a watch waits for a connection, the name is looked up once a second, and a client still connecting
//   when the answer changes is replaced; a channel in TRANSIENT_FAILURE is asked to connect (and so to resolve
//   again) once a second;
// - a channel CONNECTING for longer than its allowance (2 s, doubling after each miss on the name up to 10 s, back to
//   2 s once connected or when the client changes between name and fallback) is replaced: a TCP connect to an
//   address that drops everything would wait minutes for the kernel;
// - when the name answers no address at all and a fallback address is configured (the controller's ClusterIP
//   Service), new clients dial the fallback until the name answers again. The cluster DNS caches an empty answer
//   (5 s in CoreDNS's default, 30 s in kubeadm's), so a proxy that asked while no controller was ready would hear
//   of the new one only that long after it is Ready; kube-proxy sends the Service's address to it within a second.
//   A fallback client pings every 2 s (not 10): the pod behind the Service may vanish too, and only the keepalive
//   can tell.
// Replacing a client releases its waiters at once, so they wait on the new one.
import { connectivityState, credentials, status, type ChannelCredentials, type ClientOptions, type Interceptor } from '@grpc/grpc-js';
import { isIP } from 'node:net';
import type { CredentialSource } from '../tls/mesh-tls.ts';
import type { ControlMetrics, RetireReason } from './control-metrics.ts';
import { CallSet, lookupAddresses, type LookupFn } from './control-peer.ts';
import { CONTROL_CHANNEL_OPTIONS, controlChannelCredentials, FALLBACK_CHANNEL_OPTIONS } from './control-tls.ts';
import type { ControlAddr } from './env.ts';

export interface ControlClients<C> {
  /** The client to use for a new stream. */
  get(): C;
  /**
   * Calls back once the current client's channel is connected, or with an error at the deadline. A service
   * reached over mTLS waits for our first certificate first: a client without one is refused by the controller.
   */
  ready(deadline: number, cb: (err?: Error) => void): void;
  close(): void;
}

const RETIRE_MESSAGES: Record<RetireReason, string> = {
  peer_left: 'the control-plane peer left the service name',
  name_changed: 'the service name changed while connecting',
  connect_timeout: 'connecting to the control plane timed out',
  name_empty: 'the service name gives no address: trying the fallback address',
  name_back: 'the service name gives addresses again',
};

/** How often a client waiting for our first certificate looks again. */
const CERTIFICATE_POLL_MS = 100;

export interface SupervisionTiming {
  readonly tickMs: number;
  readonly kickEveryMs: number;
  readonly connectAllowanceMs: number;
  readonly maxConnectAllowanceMs: number;
  readonly lookupEveryMs: number;
}

export const SUPERVISION: SupervisionTiming = {
  tickMs: 250,
  kickEveryMs: 1_000,
  connectAllowanceMs: 2_000,
  maxConnectAllowanceMs: 10_000,
  lookupEveryMs: 3_000,
};

export interface SupervisionOptions {
  readonly log?: { warn(obj: object, msg: string): void };
  readonly lookup?: LookupFn;
  readonly timing?: Partial<SupervisionTiming>;
}

type Ctor<C> = new (address: string, creds: ChannelCredentials, options?: ClientOptions) => C;

interface GrpcClient {
  close(): void;
  waitForReady(deadline: number, cb: (err?: Error) => void): void;
  getChannel(): { getConnectivityState(tryToConnect: boolean): connectivityState };
}

interface Entry<C> {
  readonly generation: number;
  readonly client: C;
  readonly calls: CallSet;
  /** Who waits for this client to connect: released with an error when it is retired (grpc-js would keep them until their deadline). */
  readonly waiters: Set<(err?: Error) => void>;
  /** Dials the fallback address, not the name. */
  readonly fallback: boolean;
}

/**
 * `source`: our certificate for mutual TLS; `null` for TLS without a client certificate (identity's Certify, before
 * we have one).
 */
export function controlClients<C extends GrpcClient>(
  Client: Ctor<C>,
  svc: { readonly svcAddr: ControlAddr; readonly svcName: string; readonly fallbackAddr?: ControlAddr | undefined },
  trustAnchorsPem: string,
  source: CredentialSource | null,
  metrics?: ControlMetrics,
  o: SupervisionOptions = {},
): ControlClients<C> {
  const timing = { ...SUPERVISION, ...o.timing };
  const lookup = o.lookup ?? lookupAddresses;
  const addr = svc.svcAddr;
  let cached: Entry<C> | undefined;
  const old: Entry<C>[] = [];
  let closed = false;

  /** The name answered no address: new clients dial svc.fallbackAddr. */
  let onFallback = false;

  const build = (generation: number, tls: { readonly key: string; readonly cert: string } | undefined): Entry<C> => {
    const calls = new CallSet();
    const interceptors: Interceptor[] = [calls.interceptor(), ...(metrics ? [metrics.interceptor(svc)] : [])];
    const fallback = onFallback && svc.fallbackAddr !== undefined;
    const target = fallback ? (svc.fallbackAddr as ControlAddr).text : addr.text;
    const client = addr.loopback
      ? new Client(addr.text, credentials.createInsecure(), { ...CONTROL_CHANNEL_OPTIONS, interceptors })
      : new Client(target, controlChannelCredentials(trustAnchorsPem, svc.svcName, tls), {
          ...(fallback ? FALLBACK_CHANNEL_OPTIONS : CONTROL_CHANNEL_OPTIONS),
          'grpc.ssl_target_name_override': svc.svcName,
          'grpc.default_authority': target,
          interceptors,
        });
    return { generation, client, calls, waiters: new Set(), fallback };
  };

  const current = (): Entry<C> => {
    if (addr.loopback || source === null) {
      cached ??= build(0, undefined);
      return cached;
    }
    const creds = source.current();
    const generation = creds?.generation ?? -1;
    if (cached?.generation !== generation) {
      if (cached) old.push(cached);
      cached = build(generation, creds?.tls);
    }
    return cached;
  };

  const stateOf = (e: Entry<C>): connectivityState | undefined => {
    try {
      return e.client.getChannel().getConnectivityState(false);
    } catch {
      return undefined;
    }
  };

  /** Fails the entry's calls (so their watches subscribe again) and closes its client; the next `get` builds anew. */
  const retire = (e: Entry<C>, reason: RetireReason, detail: object): void => {
    if (cached === e) cached = undefined;
    const i = old.indexOf(e);
    if (i >= 0) old.splice(i, 1);
    metrics?.retired(svc, reason);
    o.log?.warn({ addr: addr.text, reason, ...detail }, 'Control-plane client replaced');
    const message = RETIRE_MESSAGES[reason];
    for (const c of [...e.calls.calls]) c.cancelWithStatus(status.UNAVAILABLE, message);
    for (const w of [...e.waiters]) w(new Error(message));
    e.client.close();
  };

  let allowance = timing.connectAllowanceMs;
  let connectingSince: number | undefined;
  let lastLookup = 0;
  let lastKick = 0;
  let looking = false;
  /** The name's last answer, sorted and joined: a change while connecting means the attempt is on an old answer. */
  let lastAnswer: string | undefined;
  const named = !addr.loopback && isIP(addr.host.replace(/^\[|\]$/g, '')) === 0;

  const lookUp = (now: number) => {
    lastLookup = now;
    looking = true;
    // The name exactly as grpc-js looks it up.
    void lookup(addr.host).then(
      (addresses) => {
        looking = false;
        if (closed || !addresses) return;
        const answer = [...addresses].sort().join(',');
        const changed = lastAnswer !== undefined && answer !== lastAnswer;
        lastAnswer = answer;
        if (svc.fallbackAddr && (addresses.size === 0) !== onFallback) {
          onFallback = addresses.size === 0;
          // An allowance grown on the old target says nothing of the new one.
          allowance = timing.connectAllowanceMs;
          connectingSince = undefined;
          for (const x of [...(cached ? [cached] : []), ...old]) {
            if (x.fallback !== onFallback) retire(x, onFallback ? 'name_empty' : 'name_back', { addresses: [...addresses], fallback: svc.fallbackAddr.text });
          }
          return;
        }
        for (const x of [...(cached ? [cached] : []), ...old]) {
          // A fallback client's peer is the Service's address, which the name never gives.
          if (x.fallback) continue;
          const gone = [...x.calls.peerHosts()].filter((h) => !addresses.has(h));
          if (gone.length > 0) retire(x, 'peer_left', { peers: gone, addresses: [...addresses] });
        }
        const e = cached;
        if (changed && e && stateOf(e) === connectivityState.CONNECTING) {
          connectingSince = undefined;
          retire(e, 'name_changed', { addresses: [...addresses] });
        }
      },
      () => {
        looking = false;
      },
    );
  };

  const tick = () => {
    const e = cached;
    const now = Date.now();
    const state = e && stateOf(e);
    if (e && state === connectivityState.CONNECTING) {
      connectingSince ??= now;
      if (now - connectingSince > allowance) {
        connectingSince = undefined;
        retire(e, 'connect_timeout', { allowanceMs: allowance, ...(e.fallback ? { fallback: svc.fallbackAddr?.text } : {}) });
        // The fallback is kube-proxy's address: an attempt that hangs there was sent to a pod that just went, and the
        // next one goes to whichever pod is ready now, so it is not given longer.
        if (!e.fallback) allowance = Math.min(allowance * 2, timing.maxConnectAllowanceMs);
        return;
      }
    } else {
      connectingSince = undefined;
      if (state === connectivityState.READY) allowance = timing.connectAllowanceMs;
    }
    // Someone waits for a connection that is not there: look at the name (and, failing, connect again, which makes
    // grpc-js resolve it again; its own retries stop after a resolution failed) once a second.
    const waitedOn = e !== undefined && e.waiters.size > 0 && state !== connectivityState.READY;
    if (waitedOn && state === connectivityState.TRANSIENT_FAILURE && now - lastKick >= timing.kickEveryMs) {
      lastKick = now;
      e.client.getChannel().getConnectivityState(true);
    }
    if (!named || looking) return;
    const withCalls = (cached?.calls.calls.size ?? 0) > 0 || old.some((x) => x.calls.calls.size > 0);
    if ((waitedOn && now - lastLookup >= timing.kickEveryMs) || (withCalls && now - lastLookup >= timing.lookupEveryMs)) lookUp(now);
  };
  const timer = addr.loopback ? undefined : setInterval(tick, timing.tickMs);
  timer?.unref();

  return {
    get: () => current().client,
    ready(deadline, cb) {
      if (!addr.loopback && source !== null && !source.current()) {
        setTimeout(() => cb(new Error('no certificate yet')), Math.max(0, Math.min(CERTIFICATE_POLL_MS, deadline - Date.now())));
        return;
      }
      const e = current();
      const done = (err?: Error) => {
        if (e.waiters.delete(done)) cb(err);
      };
      e.waiters.add(done);
      e.client.waitForReady(deadline, done);
    },
    close() {
      closed = true;
      clearInterval(timer);
      cached?.client.close();
      cached = undefined;
      for (const e of old.splice(0)) e.client.close();
    },
  };
}
