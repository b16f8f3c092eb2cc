// What a control client needs to know about the peers behind its name: which calls went where, and which
// addresses the name gives now. grpc-js keeps both to itself (docs/reference/control-plane-clients.md).
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';

/** The calls a client has open (their peers are asked when needed: a call knows its peer once it has one). */
export class CallSet {
  readonly calls = new Set<InterceptingCall>();

  interceptor(): Interceptor {
    return (options, nextCall) => {
      const call: InterceptingCall = new InterceptingCall(nextCall(options), {
        start: (metadata, _listener, next) => {
          this.calls.add(call);
          next(metadata, {
            onReceiveStatus: (status, nextStatus) => {
              this.calls.delete(call);
              nextStatus(status);
            },
          });
        },
      });
      return call;
    };
  }

  /** The hosts (IPs) the open calls are on; a call not yet on a connection has none. */
  peerHosts(): Set<string> {
    const hosts = new Set<string>();
    for (const c of this.calls) {
      const h = peerHost(c.getPeer());
      if (h) hosts.add(h);
    }
    return hosts;
  }
}

/** "10.0.0.1:8086" or "[fd00::1]:8086" (grpc-js' peer form) to its IP; anything else (the target, before a pick) to undefined. */
export function peerHost(peer: string): string | undefined {
  const m = /^\[([^\]]+)\]:\d+$/.exec(peer) ?? /^([^:]+):\d+$/.exec(peer);
  const host = m?.[1];
  return host && isIP(host) !== 0 ? host : undefined;
}

/** The addresses a name gives now; `undefined` when the lookup failed for another reason than the name having none. */
export type LookupFn = (host: string) => Promise<Set<string> | undefined>;

async function lookupOnce(host: string): Promise<Set<string> | undefined> {
  try {
    return new Set((await dns.lookup(host, { all: true })).map((a) => a.address));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOTFOUND' || code === 'ENODATA' ? new Set() : undefined;
  }
}

const inFlight = new Map<string, Promise<Set<string> | undefined>>();

/**
 * As grpc-js resolves (getaddrinfo, both families); a name without addresses (NXDOMAIN, NODATA) gives none. Clients
 * of one name asking at once share one lookup (getaddrinfo holds a libuv worker while it waits).
 */
export const lookupAddresses: LookupFn = (host) => {
  let p = inFlight.get(host);
  if (!p) {
    p = lookupOnce(host).finally(() => inFlight.delete(host));
    inFlight.set(host, p);
  }
  return p;
};
