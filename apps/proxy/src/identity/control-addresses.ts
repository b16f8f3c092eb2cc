// The addresses a control-plane name resolves to, looked up again every few seconds. The control plane sits behind
// headless Services: when a controller pod is deleted its IP leaves the name at once, but a connection to it that
// died without a reset (its network gone) is only noticed at the next keepalive timeout, 13 s later. An address
// that has left the name is as good as dead: the clients drop their connections and streams at once and dial what
// the name says now, as Linkerd's control clients do by balancing over the name's current addresses.
import { isIP } from 'node:net';

export type LookupAll = (host: string) => Promise<readonly string[]>;

export interface AddressWatch {
  stop(): void;
}

/**
 * Polls `host` every intervalMs and calls onGone with the addresses that were in the last answer but are not in
 * this one. Failed lookups and empty answers (no controller Ready yet) change nothing: only an answer that names
 * other addresses says the old ones are gone. IP literals are never polled.
 */
export function watchAddresses(host: string, intervalMs: number, lookup: LookupAll, onGone: (gone: string[]) => void): AddressWatch {
  if (isIP(host) !== 0) return { stop: () => undefined };
  let last: ReadonlySet<string> | undefined;
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = new Set(await lookup(host));
      if (now.size === 0) return;
      const gone = last ? [...last].filter((a) => !now.has(a)) : [];
      last = now;
      if (gone.length > 0) onGone(gone);
    } catch {
      // NXDOMAIN while no controller is Ready, or a resolver hiccup: keep the last answer.
    } finally {
      busy = false;
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
